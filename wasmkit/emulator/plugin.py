"""A filter as a proxy runs it: a VM plus the failure policy that decides what a trap costs.

As in Envoy (docs/envoy.md): FAIL_CLOSED answers 503 (details
``wasm_fail_stream``) for the trapping request and every later one; FAIL_OPEN
answers 503 once, then passes requests on without the filter; FAIL_RELOAD
answers 503 until a backoff has passed, then starts a fresh VM.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from wasmkit.emulator._wasm import Limits
from wasmkit.emulator.context import HttpCall, LocalReply, Responder, no_clusters
from wasmkit.emulator.driver import StreamDriver
from wasmkit.emulator.grpc import GrpcResponder, no_grpc_clusters
from wasmkit.emulator.properties import ConnectionInfo, PluginInfo
from wasmkit.emulator.stream import (
    Exchange,
    HttpRequest,
    HttpResponse,
    StreamRun,
    Upstream,
    closing,
    is_grpc,
    request_headers,
    upstream_headers,
)
from wasmkit.emulator.vm import Vm
from wasmkit.emulator.world import LogLine, World
from wasmkit.errors import GuestTrap, LoadFailure
from wasmkit.filter import FailurePolicy
from wasmkit.module import ModuleInfo

log = logging.getLogger(__name__)

FAIL_DETAILS = "wasm_fail_stream"
#: Envoy waits about a second before it rebuilds a VM that trapped (FAIL_RELOAD).
RELOAD_BACKOFF_NS = 1_000_000_000
_CRITICAL = 5


class VmState(StrEnum):
    RUNNING = "running"
    FAILED = "failed"


@dataclass(frozen=True)
class FilterSettings:
    name: str
    root_id: str = ""
    configuration: bytes = b""
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED
    vm_id: str = ""
    vm_configuration: bytes = b""
    #: The route's filter metadata: namespace -> key -> string (xds.route_metadata).
    route_metadata: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def empty_upstream(request: HttpRequest) -> HttpResponse:
    return HttpResponse(200, (("content-length", "0"),), b"")


class Filter:
    """One configured filter (Envoy: one listener's wasm filter) in a :class:`World`."""

    def __init__(
        self,
        data: bytes,
        info: ModuleInfo,
        settings: FilterSettings,
        *,
        world: World | None = None,
        responder: Responder = no_clusters,
        grpc_responder: GrpcResponder = no_grpc_clusters,
        limits: Limits | None = None,
        connection: ConnectionInfo | None = None,
    ):
        self.data, self.info, self.settings = data, info, settings
        self.world = world or World()
        self.responder = responder
        self.grpc_responder = grpc_responder
        self.limits = limits or Limits()
        self.connection = connection
        self.state = VmState.RUNNING
        self.failed_at_ns = 0
        self.vm_starts = 0
        self.vm = self._start()

    def _start(self) -> Vm:
        """Start a VM; LoadFailure propagates (the module does not load at all)."""
        s = self.settings
        plugin = PluginInfo(
            name=s.name,
            root_id=s.root_id,
            vm_id=s.vm_id or s.name,
            route_metadata=s.route_metadata,
        )
        vm = Vm(
            self.data,
            self.info,
            world=self.world,
            plugin=plugin,
            plugin_configuration=s.configuration,
            vm_configuration=s.vm_configuration,
            responder=self.responder,
            grpc_responder=self.grpc_responder,
            limits=self.limits,
            connection=self.connection,
        )
        self.vm_starts += 1
        vm.start()
        return vm

    @property
    def http_calls(self) -> tuple[HttpCall, ...]:
        return tuple(self.vm.http_calls)

    def send(
        self,
        method: str = "GET",
        path: str = "/",
        headers: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        body: bytes | str = b"",
        upstream: HttpResponse | Upstream | None = None,
    ) -> Exchange:
        """One request, the short way: ``f.send("POST", "/x", {"a": "b"}, "body")``.

        ``upstream`` is the upstream's fixed answer (or a function of the request it got);
        by default it answers 200 with no body.
        """
        pairs = tuple(headers.items()) if isinstance(headers, Mapping) else tuple(headers)
        raw = body.encode() if isinstance(body, str) else body
        if raw and not any(k.lower() == "content-length" for k, _ in pairs):
            pairs += (("content-length", str(len(raw))),)
        request = HttpRequest(method.upper(), path, pairs, raw)
        if isinstance(upstream, HttpResponse):
            answer = upstream

            def fixed(request: HttpRequest) -> HttpResponse:
                return answer

            return self.request(request, fixed)
        return self.request(request, upstream or empty_upstream)

    def request(self, request: HttpRequest, upstream: Upstream = empty_upstream) -> Exchange:
        logs_before = len(self.world.logs)
        calls_before = len(self.vm.http_calls)
        exchange = self._request(request, upstream)
        exchange.logs = tuple(self.world.logs[logs_before:])
        exchange.http_calls = tuple(self.vm.http_calls[calls_before:])
        return exchange

    def _request(self, request: HttpRequest, upstream: Upstream) -> Exchange:
        policy = self.settings.failure_policy
        if self.state is VmState.FAILED:
            if policy is FailurePolicy.FAIL_OPEN:
                reached = replace(request, headers=_forwarded(request))
                response = upstream(reached)
                return Exchange(
                    response.status, response.headers, response.body, reached, "via_upstream"
                )
            if policy is FailurePolicy.FAIL_RELOAD and self._backoff_over():
                self._reload()
            if self.state is VmState.FAILED:
                return _failed(request, None, None)
        run = StreamRun(self.vm, request, upstream)
        try:
            exchange = run.run()
        except GuestTrap as trap:
            self._fail(trap)
            failed = _failed(request, run.reached, trap.describe())
            failed.headers += closing(keeps_open=run.responding or not request.body)
            failed.upstream_race = run.headers_forwarded and run.reached is None
            return failed
        if run.late_trap is not None:
            # The client has its answer; later requests meet the failure policy.
            self._fail(run.late_trap)
            exchange.trap = run.late_trap.describe()
        return exchange

    def stream(self, request: HttpRequest | None = None) -> StreamDriver:
        """A new stream to drive callback by callback (see :mod:`wasmkit.emulator.driver`)."""
        return StreamDriver(self.vm, request or HttpRequest())

    def tick(self) -> None:
        """Call proxy_on_tick on the root context (a test decides when time passes)."""
        if self.state is VmState.RUNNING:
            try:
                self.vm.tick()
            except GuestTrap as trap:
                self._fail(trap)

    def _backoff_over(self) -> bool:
        return self.world.clock.monotonic_ns() - self.failed_at_ns >= RELOAD_BACKOFF_NS

    def _reload(self) -> None:
        try:
            self.vm = self._start()
        except LoadFailure as exc:
            log.warning("reloading the VM failed: %s", exc.reason)
            self.failed_at_ns = self.world.clock.monotonic_ns()
            return
        self.state = VmState.RUNNING

    def _fail(self, trap: GuestTrap) -> None:
        self.state = VmState.FAILED
        self.failed_at_ns = self.world.clock.monotonic_ns()
        self.world.log(_CRITICAL, f"wasm filter failed: {trap.describe()}", self.vm.vm_id, 0)

    @property
    def logs(self) -> list[LogLine]:
        """Everything logged so far, start-up included."""
        return list(self.world.logs)

    @property
    def metrics(self) -> dict[str, int]:
        """Counters and gauges by name (histograms: their number of samples)."""
        return self.world.metrics.snapshot()


def _forwarded(request: HttpRequest) -> tuple[tuple[str, str], ...]:
    """Headers as the router forwards them when no filter runs (FAIL_OPEN after a trap)."""
    return upstream_headers(request_headers(request))


def _failed(request: HttpRequest, reached: HttpRequest | None, trap: str | None) -> Exchange:
    """Envoy's answer for a failed VM: a 503 local reply (to a gRPC client: HTTP 200 with
    grpc-status 14, as every local reply)."""
    headers = StreamRun._reply_headers(
        LocalReply(503, FAIL_DETAILS, b"", ()), grpc=is_grpc(request)
    )
    return Exchange(
        status=int(headers[0][1]),
        headers=tuple(headers[1:]),
        body=b"",
        upstream=reached,
        details=FAIL_DETAILS,
        trap=trap,
    )
