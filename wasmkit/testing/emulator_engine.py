"""Run a test plan in the in-process emulator: one VM per filter variant, no processes.

The emulator stands in for the whole harness: the client (the same request
``envoy_engine.send`` puts on the wire), Envoy's connection manager and router,
and the echo upstream (the same JSON echo or canned reply). One
:class:`~wasmkit.emulator.World` spans the run, so metrics add up across cases
and variants as Envoy's stats do; cases run in file order and see the VM state
earlier cases left.
"""

from __future__ import annotations

import json
import time

from wasmkit.emulator import (
    Filter,
    FilterSettings,
    HttpCall,
    HttpCallResponse,
    HttpRequest,
    HttpResponse,
    Limits,
    World,
    start_filter,
)
from wasmkit.emulator import Upstream as EmulatedUpstream
from wasmkit.emulator.grpc import GrpcCall, GrpcCallResponse
from wasmkit.emulator.properties import encode
from wasmkit.envoy.upstream import ReceivedRequest, echo_document
from wasmkit.errors import ModuleLoadError
from wasmkit.module import load_bytes
from wasmkit.testing.engine import EngineRun, LogRecord, Observed, UpstreamRecord
from wasmkit.testing.envoy_engine import DEFAULT_HOST
from wasmkit.testing.plan import (
    NO_ANSWER_BODY,
    NO_ANSWER_STATUS,
    NO_GRPC_ANSWER_STATUS,
    PlannedCase,
    TestPlan,
    refusal_variants,
)
from wasmkit.testspec import GrpcCallReply, HttpCallReply, Upstream

#: Headers the harness upstream never repeats from a canned reply (it sets its own length).
_HOP_HEADERS = ("content-length", "transfer-encoding", "connection")


class CaseReplies:
    """Answers the HTTP calls of the case being run (a filter's responder)."""

    def __init__(self, clusters: tuple[str, ...] = ()) -> None:
        self.replies: list[HttpCallReply] = []
        #: The suite's declared clusters: they exist, as in Envoy, answers left or not.
        self.clusters = clusters

    def __call__(self, call: HttpCall) -> HttpCallResponse | None:
        for i, reply in enumerate(self.replies):
            if reply.cluster is None or reply.cluster == call.cluster:
                del self.replies[i]
                return HttpCallResponse(
                    status=reply.status,
                    headers=tuple(reply.headers.items()),
                    body=reply.body.encode(),
                    timeout=reply.timeout,
                )
        if call.cluster in self.clusters:
            # The harness's canned upstream for that cluster, with no answer left for it.
            return HttpCallResponse(NO_ANSWER_STATUS, body=NO_ANSWER_BODY)
        return None


class CaseGrpcReplies:
    """Answers the gRPC calls of the case being run: the canned gRPC upstream of each
    declared cluster, in order, then UNAVAILABLE (the Envoy engine's upstream does the same)."""

    def __init__(self, clusters: tuple[str, ...] = ()) -> None:
        self.replies: list[GrpcCallReply] = []
        self.clusters = clusters

    def __call__(self, call: GrpcCall) -> GrpcCallResponse | None:
        if call.cluster not in self.clusters:
            return None
        for i, reply in enumerate(self.replies):
            if reply.cluster == call.cluster:
                del self.replies[i]
                return GrpcCallResponse(
                    reply.status,
                    reply.message.encode(),
                    reply.status_message,
                    tuple(reply.initial_metadata.items()),
                    tuple(reply.trailing_metadata.items()),
                )
        return GrpcCallResponse(NO_GRPC_ANSWER_STATUS, status_message=NO_ANSWER_BODY.decode())


def client_request(planned: PlannedCase) -> HttpRequest:
    """The request exactly as the Envoy engine's client writes it."""
    request = planned.case.request
    body = request.body.encode()
    headers: list[tuple[str, str]] = []
    if "host" not in request.headers:
        headers.append(("host", DEFAULT_HOST))
    headers += list(request.headers.items())
    if body or request.method in ("POST", "PUT", "PATCH"):
        headers.append(("content-length", str(len(body))))
    return HttpRequest(request.method, request.path, tuple(headers), body)


def client_body(planned: PlannedCase, status: int | None, body: bytes) -> bytes:
    """The body as the Envoy engine's client reads it: none for HEAD, 1xx, 204 and 304 (an
    HTTP client reads no body there, whatever the content-length says)."""
    if status is None or planned.case.request.method == "HEAD":
        return b"" if status is not None else body
    return b"" if status < 200 or status in (204, 304) else body


def harness_upstream(spec: Upstream | None) -> EmulatedUpstream:
    """The echo upstream's behaviour: a canned reply, or a JSON echo of the request."""

    def answer(request: HttpRequest) -> HttpResponse:
        if spec is not None:
            body = spec.body.encode()
            headers = [
                (k.lower(), v) for k, v in spec.headers.items() if k.lower() not in _HOP_HEADERS
            ]
            status = spec.status
        else:
            received = ReceivedRequest(request.method, request.path, request.headers, request.body)
            body = json.dumps(echo_document(received), separators=(",", ":")).encode()
            headers, status = [("content-type", "application/json")], 200
        headers.append(("content-length", str(len(body))))
        return HttpResponse(status, tuple(headers), b"" if request.method == "HEAD" else body)

    return answer


class EmulatorEngine:
    name = "emulator"

    def __init__(self, *, limits: Limits | None = None):
        self.limits = limits or Limits()

    def run(self, plan: TestPlan) -> EngineRun:
        """Run every case; ModuleLoadError (Envoy's words) if no variant starts. A variant
        that does not start (a configuration the filter refuses) fails only its own cases."""
        started = time.perf_counter()
        data = load_bytes(plan.module_path)
        world = World()
        replies = CaseReplies(plan.clusters)
        grpc_replies = CaseGrpcReplies(plan.grpc_clusters)
        filters: dict[int, Filter] = {}
        #: What each VM logged while starting; the variant's first case reports it.
        startup: dict[int, tuple[LogRecord, ...]] = {}
        #: Variants a case expects to be refused, and the words they were refused with.
        refusing, refused = refusal_variants(plan), dict[int, str]()
        unexpected: ModuleLoadError | None = None
        for variant in plan.variants:
            logged = len(world.logs)
            settings = FilterSettings(
                name=plan.filter_name,
                root_id=variant.root_id,
                configuration=variant.configuration.encode(),
                failure_policy=variant.failure_policy,
                vm_id=plan.vm_id(variant),
                route_metadata=plan.route_metadata,
            )
            try:
                filters[variant.index] = start_filter(
                    data,
                    settings,
                    plan.module,
                    world=world,
                    responder=replies,
                    grpc_responder=grpc_replies,
                    limits=self.limits,
                )
            except ModuleLoadError as exc:
                if variant.index not in refusing:
                    unexpected = unexpected or exc
                refused[variant.index] = exc.reason
                continue
            startup[variant.index] = tuple(
                LogRecord(line.level, line.message) for line in world.logs[logged:]
            )
        if unexpected is not None and not filters:
            raise unexpected  # the module itself, not one configuration
        observed: list[Observed] = []
        notes: list[str] = []
        for planned in plan.cases:
            if planned.variant.index in refused:
                observed.append(Observed(None, load_error=refused[planned.variant.index]))
                continue
            replies.replies = list(planned.case.http_calls or ())
            grpc_replies.replies = list(planned.case.grpc_calls or ())
            world.properties = {
                tuple(path.split(".")): encode(value)
                for path, value in (planned.case.properties or {}).items()
            }
            case_started = time.perf_counter()
            exchange = filters[planned.variant.index].request(
                client_request(planned), harness_upstream(planned.case.upstream)
            )
            elapsed = (time.perf_counter() - case_started) * 1000
            if exchange.trap is not None:
                trap = exchange.trap.replace("\n", " ")
                notes.append(f"{planned.case.name}: the filter trapped: {trap}")
            reached = exchange.upstream
            observed.append(
                Observed(
                    status=exchange.status,
                    headers=exchange.headers,
                    body=client_body(planned, exchange.status, exchange.body),
                    upstream=None
                    if reached is None
                    else UpstreamRecord(
                        reached.method, reached.path, reached.headers, reached.body
                    ),
                    error=exchange.error,
                    details=exchange.details,
                    logs=startup.pop(planned.variant.index, ())
                    + tuple(LogRecord(line.level, line.message) for line in exchange.logs),
                    metrics=world.metrics.snapshot(),
                    duration_ms=elapsed,
                    upstream_race=exchange.upstream_race,
                )
            )
        return EngineRun(
            engine=self.name,
            description="wasmkit emulator (wasmtime, in process)",
            observed=tuple(observed),
            duration_ms=(time.perf_counter() - started) * 1000,
            notes=tuple(notes),
        )
