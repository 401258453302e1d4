"""One HTTP request through a filter, callback by callback, as Envoy's filter chain drives it.

Request headers (the pseudo-headers Envoy's connection manager adds included),
request body, then the upstream, response headers and body, then log, done and
delete. A local reply stops the request and is itself sent through the
filter's response callbacks (Envoy does that too). A callback that pauses the
stream and never resumes it leaves the client without an answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from wasmkit.codes import CONTINUE
from wasmkit.emulator.context import Context, HttpCall, LocalReply
from wasmkit.emulator.vm import Vm
from wasmkit.emulator.world import LogLine
from wasmkit.errors import GuestTrap

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class HttpRequest:
    """What the client sends; ``headers`` as on the wire (``host`` becomes ``:authority``)."""

    method: str = "GET"
    path: str = "/"
    headers: Headers = ()
    body: bytes = b""


@dataclass(frozen=True)
class HttpResponse:
    status: int = 200
    headers: Headers = ()
    body: bytes = b""


#: What reached the upstream, and the upstream's answer to it.
UpstreamRequest = HttpRequest
Upstream = Callable[[HttpRequest], HttpResponse]

DEFAULT_AUTHORITY = "wasmkit.test"
#: How long a paused stream may wait for ticks to resume it (the harness client's timeout).
CLIENT_PATIENCE_MS = 10_000
MAX_TICKS = 1000
STALLED = (
    "no response: the filter paused the stream and never resumed it "
    "(Envoy holds such a request until the client gives up)"
)


@dataclass
class Exchange:
    """What the client and the upstream saw for one request, plus what only a host sees."""

    status: int | None = None
    headers: Headers = ()
    body: bytes = b""
    upstream: HttpRequest | None = None
    details: str | None = None
    error: str | None = None
    local_reply: LocalReply | None = None
    #: The trap that failed the request, with the module's backtrace.
    trap: str | None = None
    http_calls: tuple[HttpCall, ...] = ()
    logs: tuple[LogLine, ...] = field(default=())
    #: The filter answered (or trapped) after the router had the request headers: whether
    #: the upstream saw a request then is a race in Envoy (its connection may not be up).
    upstream_race: bool = False

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)


def request_headers(request: HttpRequest) -> list[tuple[str, str]]:
    """The header map Envoy's connection manager hands the first filter."""
    own = [(k.lower(), v) for k, v in request.headers]
    authority = next((v for k, v in own if k == "host"), DEFAULT_AUTHORITY)
    rest = [(k, v) for k, v in own if k != "host"]
    return [
        (":authority", authority),
        (":path", request.path),
        (":method", request.method),
        (":scheme", "http"),
        *rest,
        ("x-forwarded-proto", "http"),
        ("x-request-id", str(uuid.uuid4())),
    ]


def upstream_headers(pairs: list[tuple[str, str]]) -> Headers:
    """What the router sends upstream: ``:authority`` as ``host``, no pseudo-headers."""
    host = next((v for k, v in pairs if k == ":authority"), DEFAULT_AUTHORITY)
    rest = tuple((k, v) for k, v in pairs if not k.startswith(":"))
    return (("host", host), *rest, ("x-envoy-expected-rq-timeout-ms", "15000"))


def closing(keeps_open: bool) -> Headers:
    """``connection: close`` unless Envoy keeps the client's connection open (it adds it after
    the filters, so they never see it). Measured with Envoy 1.36-1.40: a local reply while the
    request headers are handled, with a body still to come, closes, and so does one from the
    body's data (end_of_stream false); one from the body's end (the body was read) does not,
    and one after an HTTP call is taken alike (Envoy reads the body while the filter waits);
    a trap in a request with a body closes until the upstream
    answered, whatever the phase. A local reply with code 400 closes whatever the phase, also
    to a gRPC client (who sees HTTP 200); an upstream's 400 does not (Envoy 1.36 and 1.40)."""
    return () if keeps_open else (("connection", "close"),)


def is_grpc(request: HttpRequest) -> bool:
    """Envoy's test for a gRPC request: its content-type starts with application/grpc."""
    return any(
        k.lower() == "content-type" and v.startswith("application/grpc") for k, v in request.headers
    )


#: Envoy's gRPC status for an HTTP status, when the filter gave none (Grpc::Utility).
_GRPC_FOR_HTTP = {400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14}
GRPC_UNKNOWN = 2
#: A local reply with this code closes the client's connection (see closing()).
BAD_REQUEST = 400


def grpc_message(body: bytes) -> str:
    """The grpc-message header: the body, percent-encoded as gRPC requires."""
    return "".join(chr(b) if 0x20 <= b <= 0x7E and b != 0x25 else f"%{b:02X}" for b in body)


def _header(pairs: list[tuple[str, str]] | None, name: str) -> str | None:
    return next((v for k, v in pairs or [] if k == name), None)


class StreamRun:
    """Drives one request; a GuestTrap escapes to the caller (the failure policy)."""

    def __init__(self, vm: Vm, request: HttpRequest, upstream: Upstream):
        self.vm, self.request, self.upstream_fn = vm, request, upstream
        self.reached: HttpRequest | None = None
        self.ctx: Context | None = None
        #: A trap in proxy_on_log/done/delete: the response already went out, the VM is broken.
        self.late_trap: GuestTrap | None = None
        #: Set once the router has the request headers (they continued with a body to come).
        self.headers_forwarded = False
        #: Set once the upstream answered: the request side is over.
        self.responding = False
        #: Whether Envoy has read the whole request when the filter answers (see closing()).
        self.request_read = not request.body
        #: Set when the filter answered with code 400 (see closing()).
        self.bad_request = False

    def run(self) -> Exchange:
        vm = self.vm
        ctx = self.ctx = vm.new_context(vm.world.clock.now_ns())
        body = self.request.body
        ctx.request_headers = request_headers(self.request)
        action = vm.callback(
            ctx, "proxy_on_request_headers", len(ctx.request_headers), int(not body)
        )
        # Unless the filter answered right there, Envoy reads the body next (also while the
        # filter waits for an HTTP call).
        self.request_read = self.request_read or ctx.local_reply is None
        if not self._proceeds(ctx, action, 0):
            return self._end(ctx)
        self.headers_forwarded = bool(body)
        forwarded = b""
        if body:
            ctx.request_body, ctx.request_complete = bytearray(body), False
            action = vm.callback(ctx, "proxy_on_request_body", len(body), 0)
            passed = self._data_passed(ctx, action, "request_body")
            if passed is None:
                return self._end(ctx)
            ctx.request_complete = True
            action = vm.callback(ctx, "proxy_on_request_body", len(ctx.request_body or b""), 1)
            if not self._proceeds(ctx, action, 0):
                return self._end(ctx)
            forwarded = passed + bytes(ctx.request_body or b"")
        headers = ctx.request_headers or []
        self.reached = HttpRequest(
            method=_header(headers, ":method") or self.request.method,
            path=_header(headers, ":path") or self.request.path,
            headers=upstream_headers(headers),
            body=forwarded,
        )
        response = self.upstream_fn(self.reached)
        self.responding = True
        ctx.details = "via_upstream"
        pairs = [(k.lower(), v) for k, v in response.headers]
        self._respond(ctx, [(":status", str(response.status)), *pairs], response.body)
        return self._end(ctx)

    def _data_passed(self, ctx: Context, action: int | None, buffer: str) -> bytes | None:
        """After a body's data (end_of_stream false): what the filter let through (its buffer
        is then empty), or b"" when it keeps buffering; None once it answered itself.

        Envoy's HTTP/1 codec hands a body over in two calls: its data, then an empty end
        (end_of_stream true); measured with Envoy 1.36-1.40, both ways. A filter that wants
        the whole body returns StopIterationAndBuffer until the end."""
        if buffer == "request_body" and ctx.local_reply is not None:
            # Answered from the data itself: Envoy had not read the end (see closing()).
            self.request_read = False
        self.vm.drain()
        if buffer == "request_body" and ctx.local_reply is not None:
            self._local_reply(ctx, ctx.local_reply)
            return None
        if action not in (None, CONTINUE):
            return b""
        data: bytearray = getattr(ctx, buffer) or bytearray()
        setattr(ctx, buffer, bytearray())
        return bytes(data)

    def _proceeds(self, ctx: Context, action: int | None, stream: int) -> bool:
        self.vm.drain()
        if action not in (None, CONTINUE):
            self._wait_for_ticks(ctx, stream)
        if ctx.local_reply is not None:
            self._local_reply(ctx, ctx.local_reply)
            return False
        if action in (None, CONTINUE) or stream in ctx.resumed:
            ctx.resumed.discard(stream)
            return True
        return False

    def _wait_for_ticks(self, ctx: Context, stream: int) -> None:
        """A paused stream waits; with a tick period set, time passes tick by tick (as in
        Envoy, up to the client's patience) until the filter resumes or answers it."""
        vm, clock = self.vm, self.vm.world.clock
        for ticks in range(1, MAX_TICKS + 1):
            if stream in ctx.resumed or ctx.local_reply is not None or not vm.tick_period_ms:
                return
            if clock.fixed_ns is not None:
                clock.fixed_ns += vm.tick_period_ms * 1_000_000
            vm.tick()
            if vm.tick_period_ms * ticks >= CLIENT_PATIENCE_MS:
                return

    @staticmethod
    def _reply_headers(reply: LocalReply, grpc: bool = False) -> list[tuple[str, str]]:
        if grpc:
            # To a gRPC client Envoy answers HTTP 200 with the status in grpc-status (a
            # trailers-only response) and the body as grpc-message.
            code = reply.grpc_status
            if code < 0:
                code = _GRPC_FOR_HTTP.get(reply.status, GRPC_UNKNOWN)
            return [
                (":status", "200"),
                ("content-type", "application/grpc"),
                ("grpc-status", str(code)),
                *((("grpc-message", grpc_message(reply.body)),) if reply.body else ()),
                *reply.headers,
                ("content-length", "0"),
            ]
        headers = [(":status", str(reply.status)), ("content-length", str(len(reply.body)))]
        # Envoy types a body text/plain unless the filter gave its own content-type.
        if reply.body and not any(k == "content-type" for k, _ in reply.headers):
            headers.append(("content-type", "text/plain"))
        return headers + list(reply.headers)

    def _local_reply(self, ctx: Context, reply: LocalReply) -> None:
        ctx.details = reply.details or "via_local_reply"
        self.bad_request = reply.status == BAD_REQUEST
        grpc = is_grpc(self.request)
        body = b"" if grpc else reply.body
        self._respond(ctx, self._reply_headers(reply, grpc), body, local=True)

    def _respond(
        self, ctx: Context, headers: list[tuple[str, str]], body: bytes, local: bool = False
    ) -> None:
        vm = self.vm
        before = ctx.local_reply
        ctx.response_headers = headers
        action = vm.callback(ctx, "proxy_on_response_headers", len(headers), int(not body))
        if not local and ctx.local_reply is not None and ctx.local_reply is not before:
            # A local reply while encoding goes straight to the client (Envoy sends it
            # directly, without running the filter's response callbacks again).
            reply = ctx.local_reply
            grpc = is_grpc(self.request)
            ctx.response_headers = self._reply_headers(reply, grpc)
            ctx.response_body = bytearray(b"" if grpc else reply.body)
            ctx.details = reply.details or "via_local_reply"
            self.bad_request = reply.status == BAD_REQUEST
            return
        if not self._proceeds_response(ctx, action):
            ctx.response_headers = None
            return
        if body and not local:
            # From the upstream: data, then an empty end (see _data_passed).
            ctx.response_body, ctx.response_complete = bytearray(body), False
            action = vm.callback(ctx, "proxy_on_response_body", len(body), 0)
            passed = self._data_passed(ctx, action, "response_body") or b""
            ctx.response_complete = True
            action = vm.callback(ctx, "proxy_on_response_body", len(ctx.response_body), 1)
            if not self._proceeds_response(ctx, action):
                ctx.response_headers = None
                return
            ctx.response_body = bytearray(passed) + ctx.response_body
        elif body:
            # A local reply's body goes through in one piece.
            ctx.response_body, ctx.response_complete = bytearray(body), True
            action = vm.callback(ctx, "proxy_on_response_body", len(body), 1)
            if not self._proceeds_response(ctx, action):
                ctx.response_headers = None
                return
        else:
            ctx.response_body = bytearray()

    def _proceeds_response(self, ctx: Context, action: int | None) -> bool:
        self.vm.drain()
        if action not in (None, CONTINUE):
            self._wait_for_ticks(ctx, 1)
        if action in (None, CONTINUE) or 1 in ctx.resumed:
            ctx.resumed.discard(1)
            return True
        return False

    def _end(self, ctx: Context) -> Exchange:
        headers = ctx.response_headers
        status_text = _header(headers, ":status")
        try:
            self.vm.finish(ctx)
        except GuestTrap as trap:
            self.late_trap = trap
        if headers is None or status_text is None or not status_text.isdigit():
            return Exchange(error=STALLED, upstream=self.reached, local_reply=ctx.local_reply)
        own = tuple((k, v) for k, v in headers if not k.startswith(":"))
        return Exchange(
            upstream_race=self.headers_forwarded and self.reached is None,
            status=int(status_text),
            headers=own + closing(self.request_read and not self.bad_request),
            body=bytes(ctx.response_body or b""),
            upstream=self.reached,
            details=ctx.details,
            local_reply=ctx.local_reply,
        )
