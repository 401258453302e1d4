"""A real istiod (``pilot-discovery``) with no cluster: Istio YAML from a directory it watches.

``--configDir`` mode reads every object from a directory and pushes a change to connected
proxies ~0.25 s after a file changes; no API server, no Pods: a proxy's node metadata names
its workload. Given a ``kubeconfig`` instead, istiod runs as in a cluster
(``--registries=Kubernetes``): it watches that API server's Istio objects, so what ``wasmkit
deploy`` or the operator writes there reaches the sidecars with nothing in between (a proxy
whose Pod it does not find is still known by its node metadata). All five of istiod's ports
are on loopback (picked free); readiness is "the gRPC port accepts connections" (``/ready``
never turns 200 in configDir mode). The flags and environment, and why each is needed, are in
``docs/istio-mesh.md``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from wasmkit._process import ManagedProcess
from wasmkit.errors import ProcessFailed
from wasmkit.istio.install import IstioRelease

ROOT_NAMESPACE = "istio-system"
CLUSTER_ID = "Kubernetes"
DOMAIN = "cluster.local"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass(frozen=True)
class IstiodPorts:
    grpc: int  # plaintext xDS: what sidecars and the agent connect to
    secure_grpc: int
    http: int  # debug endpoints (/debug/syncz, /debug/configz, /debug/config_dump)
    monitoring: int  # Prometheus metrics
    https: int
    ctrlz: int

    @classmethod
    def pick(cls) -> IstiodPorts:
        return cls(*(free_port() for _ in range(6)))


MESH_CONFIG = {
    "rootNamespace": ROOT_NAMESPACE,
    "enableTracing": False,
    # A plain Envoy has no workload certificate: plaintext between sidecars.
    "enableAutoMtls": False,
}


ACCESS_LOG_FORMAT = json.dumps(
    {"id": "%REQ(X-REQUEST-ID)%", "status": "%RESPONSE_CODE%", "details": "%RESPONSE_CODE_DETAILS%"}
)


def istiod_env(release: IstioRelease, extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "POD_NAMESPACE": ROOT_NAMESPACE,
        "POD_NAME": "istiod-wasmkit",
        "REVISION": "default",
        "CLUSTER_ID": CLUSTER_ID,
        # A plain Envoy lacks Istio's metadata_exchange filter: without this it NACKs listeners.
        "PILOT_ENABLE_METADATA_EXCHANGE": "false",
        "PILOT_ENABLE_ALPN_FILTER": "false",
        "PILOT_ENABLE_GATEWAY_API": "false",
        # pilot_envoy_filter_status{result="applied"} for every EnvoyFilter patch that matched.
        "PILOT_ENVOY_FILTER_STATS": "true",
        # No certificate authority and no istiod serving certificate: mTLS is off and the
        # sidecars speak plaintext xDS; generating their RSA keys costs ~0.8 s of start-up.
        "ENABLE_CA_SERVER": "false",
        "PILOT_CERT_PROVIDER": "none",
        "VALIDATION_WEBHOOK_CONFIG_NAME": "",
        "INJECTION_WEBHOOK_CONFIG_NAME": "",
        **(extra or {}),
    }


class Istiod:
    """istiod serving the objects in ``config_dir``; a context manager (see module docstring)."""

    def __init__(
        self,
        release: IstioRelease,
        run_dir: Path,
        config_dir: Path,
        *,
        ready_timeout_s: float = 30.0,
        access_log: Path | None = None,
        kubeconfig: Path | None = None,
    ):
        self.access_log = access_log
        self.kubeconfig = kubeconfig
        self.release = release
        self.run_dir = run_dir.resolve()
        self.config_dir = config_dir.resolve()
        self.ready_timeout_s = ready_timeout_s
        self.ports = IstiodPorts.pick()
        self.process: ManagedProcess | None = None

    def _command(self, mesh: Path) -> list[str]:
        p = self.ports
        return [
            str(self.release.istiod),
            "discovery",
            *(
                ["--registries=Kubernetes", f"--kubeconfig={self.kubeconfig}"]
                if self.kubeconfig is not None
                else ["--registries=", f"--configDir={self.config_dir}"]
            ),
            f"--meshConfig={mesh}",
            f"--domain={DOMAIN}",
            f"--grpcAddr=127.0.0.1:{p.grpc}",
            f"--secureGRPCAddr=127.0.0.1:{p.secure_grpc}",
            f"--httpAddr=127.0.0.1:{p.http}",
            f"--monitoringAddr=127.0.0.1:{p.monitoring}",
            f"--httpsAddr=127.0.0.1:{p.https}",
            f"--ctrlz_port={p.ctrlz}",
            "--ctrlz_address=127.0.0.1",
            "--log_output_level=default:info",
        ]

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.config_dir.mkdir(parents=True, exist_ok=True)
        mesh = self.run_dir / "mesh.yaml"
        mesh_config: dict[str, object] = dict(MESH_CONFIG)
        if self.access_log is not None:
            # One JSON line per request, keyed by the client's x-request-id.
            mesh_config.update(
                accessLogFile=str(self.access_log),
                accessLogEncoding="JSON",
                accessLogFormat=ACCESS_LOG_FORMAT,
            )
        mesh.write_text(yaml.safe_dump(mesh_config))
        self.process = ManagedProcess(
            "istiod",
            self._command(mesh),
            self.run_dir,
            env=istiod_env(self.release),
            hint=f"istiod's log is {self.run_dir / 'istiod.log'}",
        )
        self.process.start()
        try:
            self.process.wait_until(
                lambda: _answers(self.ports.grpc), self.ready_timeout_s, "gRPC port open"
            )
        except BaseException:
            self.process.stop()
            raise

    def stop(self, grace_s: float = 3.0) -> None:
        if self.process is not None:
            self.process.stop(grace_s)

    def __enter__(self) -> Istiod:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what istiod knows -------------------------------------------------------------------

    def _get(self, port: int, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        except OSError as exc:
            raise ProcessFailed(
                f"istiod's {path} did not answer: {exc}", command=[path], returncode=None
            ) from None
        finally:
            conn.close()

    def debug(self, path: str) -> Any:
        status, body = self._get(self.ports.http, path)
        if status != 200:
            raise ProcessFailed(
                f"istiod's {path} answered {status}: {body[:200]!r}",
                command=[path],
                returncode=None,
            )
        return json.loads(body)

    def syncz(self) -> list[dict[str, Any]]:
        """One entry per connected proxy: what was sent, what was ACKed, the last NACK's reason."""
        data = self.debug("/debug/syncz")
        return list(data) if isinstance(data, list) else []

    def metrics(self) -> str:
        status, body = self._get(self.ports.monitoring, "/metrics")
        return body.decode(errors="replace") if status == 200 else ""

    def log_text(self) -> str:
        return self.process.log_text() if self.process is not None else ""


def envoy_filter_status(metrics: str) -> dict[str, str]:
    """``pilot_envoy_filter_status`` lines: ``name`` (namespace/name or name) -> result."""
    found: dict[str, str] = {}
    for line in metrics.splitlines():
        if not line.startswith("pilot_envoy_filter_status{"):
            continue
        labels = dict(
            part.split("=", 1)
            for part in line[line.index("{") + 1 : line.index("}")].split(",")
            if "=" in part
        )
        name = labels.get("name", "").strip('"')
        result = labels.get("result", "").strip('"')
        value = line.rsplit(" ", 1)[-1]
        with contextlib.suppress(ValueError):
            if float(value) > 0 and (found.get(name) != "applied"):
                found[name] = result
    return found
