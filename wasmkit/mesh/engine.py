"""Run a test plan through Istio itself: ``wasmkit test --istio VERSION``.

For each filter variant of the plan (distinct configuration, root id, failure policy) the
engine renders the objects a user would apply - an EnvoyFilter or a WasmPlugin selecting one
workload - gives them to a real istiod, starts that workload's sidecar (a plain Envoy of the
release's Envoy, through Istio's agent for remote WasmPlugin urls), checks that the filter
reached the inbound listener, and sends the variant's cases through it. Before any request
it reports what a mesh never shows: the objects' validation warnings (Istio's own webhook
code), Envoy's NACK in its own words, the agent's fetch error, or a filter applied to no
listener, with a hint.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.envoy.logs import filter_lines
from wasmkit.envoy.upstream import EchoUpstream
from wasmkit.errors import ModuleLoadError, NotApplied
from wasmkit.filter import FilterSpec
from wasmkit.istio.check import check_objects
from wasmkit.istio.install import IstioRelease
from wasmkit.istio.istiod import free_port
from wasmkit.mesh.box import MeshBox, Verdict
from wasmkit.mesh.workload import Workload
from wasmkit.testing.engine import EngineRun, LogRecord, Observed
from wasmkit.testing.envoy_engine import (
    exchange,
    logs_per_case,
    next_millisecond,
    request_id_for,
    variant_filter,
)
from wasmkit.testing.plan import TestPlan

#: Istio's own boilerplate warning on every EnvoyFilter: true, and not about this filter.
_ENVOY_FILTER_BOILERPLATE = "EnvoyFilter exposes internal implementation details"


class MeshApi(StrEnum):
    ENVOY_FILTER = "envoyfilter"
    WASM_PLUGIN = "wasmplugin"


@dataclass(frozen=True)
class MeshTarget:
    """One variant's filter, the workload its objects must select, and how the module travels."""

    workload: Workload
    spec: FilterSpec  # code: the module as a local file
    api: MeshApi
    #: For a WasmPlugin: ``file://``, ``oci://`` or ``http(s)://``; None for EnvoyFilter sources.
    url: str | None = None
    sha256: str | None = None


#: Renders the objects for one target (the deploy renderers); never the Sidecar: that is ours.
Render = Callable[[MeshTarget], list[dict[str, Any]]]
#: Where a variant's module is served from, for WasmPlugin urls (None: a file:// url).
Publish = Callable[[Path], tuple[str, str | None]]


@dataclass(frozen=True)
class RunningMesh:
    upstream: EchoUpstream
    box: MeshBox
    targets: tuple[MeshTarget, ...]
    notes: tuple[str, ...]


class MeshEngine:
    name = "istio"

    def __init__(
        self,
        release: IstioRelease,
        envoy: EnvoyBinary,
        render: Render,
        *,
        api: MeshApi = MeshApi.ENVOY_FILTER,
        publish: Publish | None = None,
        via_agent: bool = False,
        artifacts_dir: Path | None = None,
        request_timeout_s: float = 10.0,
        apply_timeout_s: float = 20.0,
        delivered: Callable[[Path], AbstractContextManager[Sequence[tuple[Path, Path]]]]
        | None = None,
    ):
        #: For a run directory: what every sidecar must see (deploy's node cache, a hosts file),
        #: and whatever serves the module, for the duration of the run.
        self.delivered = delivered
        #: The inbound port of a single variant's workload (``wasmkit run --port``); 0: free.
        self.listen_port = 0
        self.release = release
        self.envoy = envoy
        self.render = render
        self.api = api
        self.publish = publish
        self.via_agent = via_agent
        self.artifacts_dir = artifacts_dir.resolve() if artifacts_dir is not None else None
        self.request_timeout_s = request_timeout_s
        self.apply_timeout_s = apply_timeout_s

    def targets(self, plan: TestPlan, upstream_port: int) -> list[MeshTarget]:
        url, sha256 = (None, None)
        if self.api is MeshApi.WASM_PLUGIN:
            url, sha256 = (
                self.publish(plan.module_path)
                if self.publish is not None
                else (plan.module_path.resolve().as_uri(), None)
            )
        targets = []
        for variant in plan.variants:
            port = self.listen_port if self.listen_port and len(plan.variants) == 1 else free_port()
            workload = Workload(f"variant-{variant.index}", port, upstream_port)
            # A configuration a WasmPlugin cannot carry is refused by the renderer (deploy's
            # resolve_spec), before anything starts.
            targets.append(
                MeshTarget(workload, variant_filter(plan, variant), self.api, url, sha256)
            )
        return targets

    def run(self, plan: TestPlan) -> EngineRun:
        started = time.perf_counter()
        keep = self.artifacts_dir is not None
        run_dir = self.artifacts_dir or Path(tempfile.mkdtemp(prefix="wasmkit-istio-"))
        try:
            observed, notes, logged = self._run_in(plan, run_dir)
        finally:
            if not keep:
                shutil.rmtree(run_dir, ignore_errors=True)
        return EngineRun(
            engine=self.name,
            description=f"Istio {self.release.version} (istiod) + Envoy {self.envoy.version} "
            f"sidecar, {self.api.value}" + (" through Istio's agent" if self.via_agent else ""),
            observed=tuple(observed),
            duration_ms=(time.perf_counter() - started) * 1000,
            artifacts=str(run_dir) if keep else None,
            notes=tuple(notes),
            filter_log=logged,
        )

    @contextmanager
    def up(self, plan: TestPlan, run_dir: Path) -> Iterator[RunningMesh]:
        """istiod and one sidecar per variant, their objects applied and checked; stopped on exit.

        Raises before yielding when Istio refused the objects, applied them to no listener, the
        proxy NACKed them or the agent could not fetch the module."""
        box = MeshBox(self.release, self.envoy, run_dir / "mesh")
        with EchoUpstream() as upstream, ThreadPoolExecutor(1) as pool:
            targets = self.targets(plan, upstream.port)
            rendered = {t.workload.name: self.render(t) for t in targets}
            # Istio's validation runs while istiod and the sidecars start; it is judged first.
            checking = pool.submit(
                self._static_check, [o for objs in rendered.values() for o in objs]
            )
            for target in targets:
                box.write(f"{target.workload.name}-sidecar", [target.workload.sidecar()])
                box.write(target.workload.name, rendered[target.workload.name])
            delivery = self.delivered(run_dir) if self.delivered is not None else nullcontext(())
            with delivery as mounts, box:
                sidecars = [
                    box.add_sidecar(t.workload, via_agent=self.via_agent, mounts=mounts)
                    for t in targets
                ]
                notes = checking.result()
                for sidecar in sidecars:
                    self._judge(box.verdict(sidecar, self.apply_timeout_s), rendered, notes, box)
                yield RunningMesh(upstream, box, tuple(targets), tuple(notes))

    def _run_in(
        self, plan: TestPlan, run_dir: Path
    ) -> tuple[list[Observed], list[str], tuple[LogRecord, ...]]:
        with self.up(plan, run_dir) as mesh:
            box, notes = mesh.box, list(mesh.notes)
            ports = {
                v.index: t.workload.port for v, t in zip(plan.variants, mesh.targets, strict=True)
            }
            ids = [request_id_for(pc) for pc in plan.cases]
            observed, starts_ms, answered = [], [], 0.0
            for pc, rid in zip(plan.cases, ids, strict=True):
                started = next_millisecond(answered)
                starts_ms.append(int(started * 1000))
                port = ports[pc.variant.index]
                observed.append(exchange(mesh.upstream, port, pc, self.request_timeout_s, rid))
                answered = time.time()
        # Envoy writes its log and access log fully on exit: both are read only now.
        per_case: list[tuple[LogRecord, ...]] = [() for _ in plan.cases]
        logged: list[LogRecord] = []
        for variant, sidecar in zip(plan.variants, box.sidecars, strict=True):
            lines = filter_lines(sidecar.envoy.log_text())
            logged += [LogRecord(line.level, line.message) for line in lines]
            mine = [i for i, pc in enumerate(plan.cases) if pc.variant.index == variant.index]
            vm = next((line.vm_id for line in lines if line.vm_id), "")
            shares = logs_per_case(lines, [starts_ms[i] for i in mine], [vm] * len(mine))
            for i, share in zip(mine, shares, strict=True):
                per_case[i] = share
        observed = [replace(o, logs=logs) for o, logs in zip(observed, per_case, strict=True)]
        details = _details_by_request(box.run_dir / "access.log")
        observed = [_with_details(o, rid, details) for o, rid in zip(observed, ids, strict=True)]
        return observed, notes, tuple(logged)

    def _static_check(self, objects: Sequence[dict[str, Any]]) -> list[str]:
        if self.release.check is None:
            return [f"istio-check for Istio {self.release.version} is not built: objects not "
                    f"validated (wasmkit istio install {self.release.version})"]  # fmt: skip
        result = check_objects(self.release, objects)
        if not result.valid:
            raise ModuleLoadError(
                "Istio's validation refuses the objects: " + "; ".join(result.errors()),
                hint="`wasmkit deploy istio --dry-run` prints them; this is a wasmkit bug if they "
                "came from it",
            )
        return [
            f"Istio {result.istio} warns: {w}"
            for w in result.warnings()
            if _ENVOY_FILTER_BOILERPLATE not in w
        ]

    def _judge(
        self,
        verdict: Verdict,
        rendered: dict[str, list[dict[str, Any]]],
        notes: list[str],
        box: MeshBox,
    ) -> None:
        workload = verdict.workload
        if verdict.agent_errors:
            raise ModuleLoadError(
                "Istio's agent could not fetch the module: " + "; ".join(verdict.agent_errors),
                hint=f"the agent's log is in {box.run_dir / workload.name / 'agent'}",
            )
        if verdict.load_errors:
            raise ModuleLoadError(
                "Envoy could not load the module: " + "; ".join(verdict.load_errors),
                hint=f"the sidecar's log is {box.run_dir / workload.name / 'envoy.log'}",
            )
        if verdict.rejections:
            raise ModuleLoadError(
                "Envoy rejected the configuration istiod sent: " + "; ".join(verdict.rejections),
                hint=f"logs: {box.logs()}",
            )
        if verdict.listener is None:
            raise ModuleLoadError(
                f"istiod sent {workload.name}'s sidecar no inbound listener {workload.listener} "
                f"within {self.apply_timeout_s:g} s",
                hint=f"logs: {box.logs()}",
            )
        if not verdict.applied:
            names = ", ".join(_label(o) for o in rendered[workload.name])
            labels = [_label(o) for o in rendered[workload.name]]
            warned = list(
                dict.fromkeys(
                    n.split(": ", 2)[2]
                    for n in notes
                    if "deprecated" in n and any(f"warns: {label}:" in n for label in labels)
                )
            )
            raise NotApplied(
                f"istiod applied {names} to no listener: the inbound listener "
                f"{workload.listener} runs {', '.join(verdict.listener.http_filters)} and no "
                "Wasm filter",
                hint=(
                    f"Istio {self.release.version} warns: {'; '.join(warned)} (Istio 1.19 and "
                    "later match only the new filter names)"
                    if warned
                    else "the patch's match (context, listener filter and subFilter names, "
                    "workload selector) selects nothing in that listener"
                ),
            )


def _label(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata", {})
    return f"{obj.get('kind')} {meta.get('namespace', '')}/{meta.get('name', '')}"


def _details_by_request(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return found
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("id"):
            found[str(entry["id"])] = str(entry.get("details"))
    return found


def _with_details(observed: Observed, request_id: str, details: dict[str, str]) -> Observed:
    if observed.status is None or request_id not in details:
        return observed
    return replace(observed, details=details[request_id])
