"""The mesh-in-a-box: one istiod, the objects it serves, and a sidecar Envoy per workload.

:class:`MeshBox` owns every process of a run: istiod (``--configDir``: objects are YAML files
written atomically into a directory it watches), one plain Envoy per workload with the node
metadata istiod reads the workload from, and - for WasmPlugins with ``oci://`` or ``http://``
urls - one Istio agent per sidecar between Envoy and istiod. Everything lives in one run
directory (configs, logs, the agent's downloads) that the caller keeps for a failure report.
With a ``kubeconfig`` istiod reads the objects from that API server instead (the caller applies
them there, :func:`wasmkit.mesh.workload.mtls_off` and each workload's Sidecar included).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmkit._atomic import write_atomic
from wasmkit._process import bind_mounts, can_bind_mount
from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.envoy.bootstrap import render_harness_template
from wasmkit.envoy.process import EnvoyProcess
from wasmkit.istio.agent import Agent
from wasmkit.istio.install import IstioRelease
from wasmkit.istio.istiod import Istiod
from wasmkit.mesh.status import (
    ListenerView,
    envoy_rejections,
    istiod_rejections,
    listener_view,
    module_load_failures,
)
from wasmkit.mesh.workload import Workload, mtls_off

log = logging.getLogger(__name__)


@dataclass
class Sidecar:
    workload: Workload
    envoy: EnvoyProcess
    agent: Agent | None = None

    def config_dump(self) -> Any:
        assert self.envoy.admin is not None
        return self.envoy.admin.json("/config_dump")

    def stop(self) -> None:
        self.envoy.stop()
        if self.agent is not None:
            self.agent.stop()


@dataclass(frozen=True)
class Verdict:
    """What became of the objects for one workload's sidecar."""

    workload: Workload
    listener: ListenerView | None  # None: istiod built no inbound listener (or Envoy refused it)
    rejections: tuple[str, ...] = ()  # Envoy's NACK reasons (from Envoy and from istiod)
    agent_errors: tuple[str, ...] = ()
    #: Envoy accepted the filter but could not load its module (a remote fetch that failed).
    load_errors: tuple[str, ...] = ()

    @property
    def applied(self) -> bool:
        return self.listener is not None and bool(self.listener.wasm_filters())


@dataclass
class MeshBox:
    release: IstioRelease
    envoy_binary: EnvoyBinary
    run_dir: Path
    ready_timeout_s: float = 30.0
    sidecars: list[Sidecar] = field(default_factory=list)
    istiod: Istiod | None = None
    kubeconfig: Path | None = None  # istiod watches this API server, not config/

    @property
    def config_dir(self) -> Path:
        return self.run_dir / "config"

    def write(self, name: str, objects: Sequence[Mapping[str, Any]]) -> Path:
        """Give istiod ``objects`` as ``config/<name>.yaml`` (atomically: it watches the dir)."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        target = self.config_dir / f"{name}.yaml"
        # JSON documents (valid YAML): istiod's YAML 1.1 reader would take `y` for a boolean.
        text = "\n---\n".join(json.dumps(dict(o), indent=1) for o in objects) + "\n"
        write_atomic(target, text)  # a .tmp name beside it: istiod reads only *.yaml
        return target

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.write("mtls-off", [mtls_off()])
        self.istiod = Istiod(
            self.release,
            self.run_dir / "istiod",
            self.config_dir,
            ready_timeout_s=self.ready_timeout_s,
            access_log=self.run_dir / "access.log",
            kubeconfig=self.kubeconfig,
        )
        self.istiod.start()

    def add_sidecar(
        self,
        workload: Workload,
        *,
        via_agent: bool = False,
        mounts: Sequence[tuple[Path, Path]] = (),
    ) -> Sidecar:
        """Start the sidecar of ``workload`` (its Sidecar object must have been written).

        ``mounts`` are bound into Envoy's private mount namespace, like a pod's volumes."""
        assert self.istiod is not None
        run_dir = self.run_dir / workload.name
        agent = None
        if via_agent:
            agent = Agent(
                self.release,
                run_dir / "agent",
                self.istiod.ports.grpc,
                namespace=workload.namespace,
                pod=workload.pod,
                mounts=mounts,
            )
            agent.start()
        bootstrap = render_harness_template(
            "istio-sidecar-bootstrap.yaml.j2",
            workload=workload,
            metadata=workload.node_metadata(self.release.version),
            xds_port=self.istiod.ports.grpc,
            xds_socket=str(agent.xds_socket) if agent is not None else "",
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        # Like a pod's shared volume: Envoy finds the agent's downloads where it says.
        shared = [*mounts, *([agent.data_mount] if agent is not None and can_bind_mount() else [])]
        config = run_dir / "envoy.yaml"
        config.write_text(bootstrap)
        envoy = EnvoyProcess(
            self.envoy_binary,
            config,
            run_dir,
            ready_timeout_s=self.ready_timeout_s,
            preexec=bind_mounts(shared) if shared else None,
        )
        sidecar = Sidecar(workload, envoy, agent)
        self.sidecars.append(sidecar)
        envoy.start()
        return sidecar

    def verdict(self, sidecar: Sidecar, timeout_s: float = 10.0) -> Verdict:
        """Wait until Envoy runs the workload's inbound listener, or refused an update; report."""
        assert self.istiod is not None
        deadline = time.monotonic() + timeout_s
        while True:
            dump = sidecar.config_dump()
            view = listener_view(dump, sidecar.workload.listener)
            rejected = envoy_rejections(dump)
            agent_errors = tuple(sidecar.agent.fetch_errors()) if sidecar.agent else ()
            # The inbound listener turns active only once its ECDS filters arrived, so an
            # active listener is the final word on what istiod applied.
            if view is not None or rejected or agent_errors or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        rejected += [
            r
            for r in istiod_rejections(self.istiod.syncz(), sidecar.workload.proxy_id)
            if r not in rejected
        ]
        loaded = tuple(module_load_failures(sidecar.envoy.log_text()))
        return Verdict(sidecar.workload, view, tuple(rejected), agent_errors, loaded)

    def stop(self) -> None:
        # istiod has nothing to flush (its log is written line by line): killed at once, while
        # the Envoys (whose access logs are flushed on exit) stop cleanly.
        if self.istiod is not None:
            self.istiod.stop(grace_s=0.0)
        for sidecar in self.sidecars:
            sidecar.stop()

    def __enter__(self) -> MeshBox:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def logs(self) -> str:
        """Paths of every log of the run, for an error's hint."""
        return ", ".join(str(p) for p in sorted(self.run_dir.rglob("*.log")))
