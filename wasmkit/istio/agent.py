"""Istio's agent (``pilot-agent``) without its Envoy: the xDS proxy that fetches Wasm modules.

In a pod, the agent sits between Envoy and istiod and rewrites every WasmPlugin's ECDS resource:
it downloads the ``oci://`` or ``http(s)://`` module, checks it, and hands Envoy a local file
instead (or, when the fetch fails, a deny-all or allow-all RBAC filter, logging why). With
``DISABLE_ENVOY=true`` it does exactly that for an Envoy we start ourselves, over a unix
socket in its run directory.

Two of its habits need isolating: it downloads into the fixed ``/var/lib/istio/data``, and
its status server binds all interfaces. As root the agent gets a private mount namespace
with its run directory's ``data/`` bound over ``/var/lib/istio/data`` (so parallel runs never
share a cache), and the status server is turned off with the pod annotation
``status.sidecar.istio.io/port: "0"`` (proxy config itself refuses port 0).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from wasmkit._process import ManagedProcess, bind_mounts, can_bind_mount
from wasmkit._resources import resource_dir
from wasmkit.errors import EnvironmentProblem
from wasmkit.istio.install import IstioRelease
from wasmkit.istio.istiod import CLUSTER_ID, DOMAIN

AGENT_DATA_DIR = Path("/var/lib/istio/data")
_MAX_SOCKET_PATH = 100

# The reason can span lines (Go's multierror): "...: 2 errors occurred:\n\t* ...\n\n. applying"
_FETCH_ERROR = re.compile(
    r"error in converting the wasm config to local: (.*?)\s*\. applying \w+ RBAC", re.DOTALL
)


class Agent:
    """``pilot-agent proxy sidecar`` for one workload's Envoy; a context manager."""

    def __init__(
        self,
        release: IstioRelease,
        run_dir: Path,
        istiod_grpc_port: int,
        *,
        namespace: str,
        pod: str,
        mounts: Sequence[tuple[Path, Path]] = (),
        insecure_registries: str = "*",
        ready_timeout_s: float = 30.0,
    ):
        if release.agent is None:
            from wasmkit.istio.install import install_hint

            raise EnvironmentProblem(
                f"Istio {release.version}'s agent (pilot-agent) is not installed",
                hint=install_hint(release.version),
            )
        self.release = release
        self.run_dir = run_dir.resolve()
        self.istiod_grpc_port = istiod_grpc_port
        self.namespace = namespace
        self.pod = pod
        #: More of the pod's volumes (a hosts file for the module cache's name).
        self.mounts = list(mounts)
        self.insecure_registries = insecure_registries
        self.ready_timeout_s = ready_timeout_s
        self.process: ManagedProcess | None = None
        self._config_path: Path | None = None
        self._own_config_path = False

    @property
    def config_path(self) -> Path:
        """Where the agent makes its xDS socket: the run directory's ``etc/``, or a short temp
        directory when that path is too long for a unix socket (108 bytes on Linux)."""
        if self._config_path is None:
            wanted = self.run_dir / "etc"
            if len(str(wanted / "XDS").encode()) < _MAX_SOCKET_PATH:
                self._config_path = wanted
            else:
                self._config_path = Path(tempfile.mkdtemp(prefix="wasmkit-agent-"))
                self._own_config_path = True
        return self._config_path

    @property
    def xds_socket(self) -> Path:
        return self.config_path / "XDS"

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    def proxy_config(self) -> dict[str, object]:
        return {
            "discoveryAddress": f"127.0.0.1:{self.istiod_grpc_port}",
            "controlPlaneAuthPolicy": "NONE",
            "configPath": str(self.config_path),
        }

    def environment(self) -> dict[str, str]:
        return {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.run_dir),
            "DISABLE_ENVOY": "true",
            "PROXY_CONFIG": yaml.safe_dump(self.proxy_config()),
            "POD_NAME": self.pod,
            "POD_NAMESPACE": self.namespace,
            "INSTANCE_IP": "127.0.0.1",
            "CLUSTER_ID": CLUSTER_ID,
            "ISTIO_META_CLUSTER_ID": CLUSTER_ID,
            # The registry is on loopback over plain HTTP.
            "WASM_INSECURE_REGISTRIES": self.insecure_registries,
            "CA_ADDR": f"127.0.0.1:{self.istiod_grpc_port}",
        }

    def start(self) -> None:
        for directory in (self.config_path, self.data_dir):
            directory.mkdir(parents=True, exist_ok=True)
        # The pod annotation that turns the status server off (it binds all interfaces). The
        # agent reads the pod's annotations from ./etc/istio/pod/annotations (downward API
        # format), after validating proxy config, which refuses statusPort 0.
        annotations = self.run_dir / "etc" / "istio" / "pod" / "annotations"
        annotations.parent.mkdir(parents=True, exist_ok=True)
        annotations.write_text('status.sidecar.istio.io/port="0"\n')
        # Its SDS server needs a CA root file to start, though nothing asks it for a certificate.
        root = self.run_dir / "var" / "run" / "secrets" / "istio" / "root-cert.pem"
        root.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(resource_dir("harness") / "istio-agent-root-cert.pem", root)
        preexec = None
        if can_bind_mount():
            AGENT_DATA_DIR.mkdir(parents=True, exist_ok=True)  # the mount point
            preexec = bind_mounts([(self.data_dir, AGENT_DATA_DIR), *self.mounts])

        command = [
            str(self.release.agent),
            "proxy",
            "sidecar",
            f"--domain={self.namespace}.svc.{DOMAIN}",
            f"--meshConfig={self.run_dir / 'mesh.yaml'}",
            "--log_output_level=default:info,wasm:debug",
        ]
        self.process = ManagedProcess(
            "agent",
            command,
            self.run_dir,
            env=self.environment(),
            preexec=preexec,
            hint=f"the agent's log is {self.run_dir / 'agent.log'}",
        )
        self.process.start()
        try:
            self.process.wait_until(self.xds_socket.exists, self.ready_timeout_s, "xDS socket")
        except BaseException:
            self.process.stop()
            raise

    @property
    def data_mount(self) -> tuple[Path, Path]:
        """(source, target) that shows another process (the sidecar's Envoy) the agent's
        downloads at ``/var/lib/istio/data``, where the rewritten filter points."""
        return (self.data_dir, AGENT_DATA_DIR)

    def fetch_errors(self) -> list[str]:
        """Why the agent could not fetch a module, in its own words (one per failed fetch)."""
        text = self.process.log_text() if self.process is not None else ""
        found: list[str] = []
        for match in _FETCH_ERROR.finditer(text):
            reason = " ".join(match.group(1).split())  # one line: "... occurred: * a * b"
            if reason not in found:
                found.append(reason)
        return found

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
        if self._own_config_path and self._config_path is not None:
            shutil.rmtree(self._config_path, ignore_errors=True)

    def __enter__(self) -> Agent:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
