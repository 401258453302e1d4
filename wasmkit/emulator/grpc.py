"""gRPC calls and streams: ``proxy_grpc_call``/``proxy_grpc_stream`` and their answers, as
Envoy delivers them (measured on Envoy 1.40 with tests/fixtures/wat/grpc_*.wat).

Envoy (proxy-wasm-cpp-host) makes every gRPC call and stream on the root context and answers
there, with the root context's id, once the callback that made the call has returned:

- a unary call (odd tokens): a reply (status 0) is ``proxy_on_grpc_receive(root, token, size)``
  alone, the message in the GrpcReceiveBuffer; a failure is ``proxy_on_grpc_close(root, token,
  status)`` alone;
- a stream (even tokens), answered once the guest ended its side (``proxy_grpc_send`` with
  end_stream, or ``proxy_grpc_close``): a reply is initial metadata, the message, trailing
  metadata, then ``proxy_on_grpc_close(root, token, 0)``; a failure (a trailers-only response)
  is empty initial metadata, the trailers as trailing metadata, then the close.

During a close ``proxy_get_status`` gives the status and the service's message with Envoy's
response code details appended: ``<message>{via_upstream}``, or ``via_upstream`` alone when
the message is empty. ``proxy_grpc_cancel`` drops a call or stream (no callback follows);
``proxy_grpc_close`` drops a call and ends a stream's sending side. The service argument names
a cluster (Envoy also takes a serialized GrpcService, which a test file cannot declare); an
unknown cluster refuses the call with ParseFailure, as Envoy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wasmkit.codes import Status
from wasmkit.emulator._calls import CallBase
from wasmkit.emulator.serial import Pairs, host_pairs, u32

#: Envoy's response code details of an answer that came from the service.
VIA_UPSTREAM = "via_upstream"
#: The response headers Envoy hands over from the harness's gRPC upstream (grpcio) before the
#: service's own initial metadata; Envoy adds the upstream's time (0 here).
RESPONSE_HEADERS = (
    (":status", "200"),
    ("content-type", "application/grpc"),
)
_ACCEPT = (("grpc-accept-encoding", "identity, deflate, gzip"),)
_SERVICE_TIME = (("x-envoy-upstream-service-time", "0"),)


@dataclass(frozen=True)
class GrpcCall:
    """A ``proxy_grpc_call`` (or a stream's messages) the guest made."""

    token: int
    context_id: int
    cluster: str
    service: str
    method: str
    initial_metadata: tuple[tuple[str, str], ...]
    message: bytes
    timeout_ms: int


@dataclass(frozen=True)
class GrpcCallResponse:
    """A canned answer: status 0 delivers ``message``; any other status fails the call.
    Metadata reaches the guest only on a stream (Envoy delivers none for a unary call)."""

    status: int = 0
    message: bytes = b""
    status_message: str = ""
    initial_metadata: tuple[tuple[str, str], ...] = ()
    trailing_metadata: tuple[tuple[str, str], ...] = ()

    def status_details(self) -> str:
        message = self.status_message if self.status else ""
        return f"{message}{{{VIA_UPSTREAM}}}" if message else VIA_UPSTREAM


#: Decides the answer to a gRPC call; None means "no such cluster" (Envoy: ParseFailure).
GrpcResponder = Callable[[GrpcCall], GrpcCallResponse | None]


def no_grpc_clusters(call: GrpcCall) -> GrpcCallResponse | None:
    return None


@dataclass
class _Stream:
    call: GrpcCall
    response: GrpcCallResponse
    ended: bool = False


@dataclass
class GrpcState:
    """One VM's gRPC calls and streams: made, pending, and the answer being delivered."""

    responder: GrpcResponder = no_grpc_clusters
    calls: list[GrpcCall] = field(default_factory=list)
    pending: dict[int, tuple[GrpcCall, GrpcCallResponse]] = field(default_factory=dict)
    streams: dict[int, _Stream] = field(default_factory=dict)
    #: The message of the reply being delivered (the GrpcReceiveBuffer), else None.
    receiving: bytes | None = None
    #: (status, message) of the close being delivered (proxy_get_status), else None.
    closing: tuple[int, str] | None = None
    #: The metadata map being delivered: (map type, pairs).
    metadata: tuple[int, Pairs] | None = None
    _next_call: int = 1
    _next_stream: int = 2

    def next_token(self, stream: bool = False) -> int:
        if stream:
            token, self._next_stream = self._next_stream, self._next_stream + 2
        else:
            token, self._next_call = self._next_call, self._next_call + 2
        return token

    def ready(self) -> bool:
        return bool(self.pending) or any(s.ended for s in self.streams.values())


class GrpcCalls(CallBase):
    def _open(self, token: int, ptrs: tuple[int, ...], message: bytes, timeout_ms: int) -> GrpcCall:
        return GrpcCall(
            token=token,
            context_id=self.vm.root.id,
            cluster=self._text(ptrs[0], ptrs[1]),
            service=self._text(ptrs[2], ptrs[3]),
            method=self._text(ptrs[4], ptrs[5]),
            initial_metadata=tuple(host_pairs(self._read(ptrs[6], ptrs[7]))),
            message=message,
            timeout_ms=timeout_ms & 0xFFFFFFFF,
        )

    def proxy_grpc_call(self, *args: int) -> int:
        *ptrs, message_ptr, message_size, timeout_ms, token_ptr = args
        self.vm.guest.read(token_ptr, 4)
        state = self.vm.grpc
        message = self._read(message_ptr, message_size)
        call = self._open(state.next_token(), tuple(ptrs), message, timeout_ms)
        response = state.responder(call)
        if response is None:
            return Status.PARSE_FAILURE  # no such cluster
        state.calls.append(call)
        state.pending[call.token] = (call, response)
        self.vm.guest.write(token_ptr, u32(call.token))
        return Status.OK

    def proxy_grpc_stream(self, *args: int) -> int:
        *ptrs, token_ptr = args
        self.vm.guest.read(token_ptr, 4)
        state = self.vm.grpc
        call = self._open(state.next_token(stream=True), tuple(ptrs), b"", 0)
        response = state.responder(call)
        if response is None:
            return Status.PARSE_FAILURE
        state.streams[call.token] = _Stream(call, response)
        self.vm.guest.write(token_ptr, u32(call.token))
        return Status.OK

    def proxy_grpc_send(self, token: int, message_ptr: int, message_size: int, end: int) -> int:
        stream = self.vm.grpc.streams.get(token)
        if stream is None:  # Envoy: a call's token is no stream; any other is not found
            return Status.BAD_ARGUMENT if token % 2 else Status.NOT_FOUND
        message = self._read(message_ptr, message_size)
        call = stream.call
        stream.call = GrpcCall(**{**call.__dict__, "message": call.message + message})
        if end:
            stream.ended = True
            self.vm.grpc.calls.append(stream.call)
        return Status.OK

    def proxy_grpc_cancel(self, token: int) -> int:
        state = self.vm.grpc
        found = state.pending.pop(token, None) or state.streams.pop(token, None)
        return Status.OK if found else Status.NOT_FOUND

    def proxy_grpc_close(self, token: int) -> int:
        stream = self.vm.grpc.streams.get(token)
        if stream is None:
            return self.proxy_grpc_cancel(token)
        if not stream.ended:
            stream.ended = True
            self.vm.grpc.calls.append(stream.call)
        return Status.OK


def deliver_next(state: GrpcState, callback: Callable[..., object]) -> bool:
    """Deliver the oldest pending answer through ``callback(name, token, arg)`` on the root
    context; False when none is pending."""
    if state.pending:
        token = next(iter(state.pending))
        _call, response = state.pending.pop(token)
        try:
            if response.status == 0:
                state.receiving = response.message
                callback("proxy_on_grpc_receive", token, len(response.message))
            else:
                state.closing = (response.status, response.status_details())
                callback("proxy_on_grpc_close", token, response.status)
        finally:
            state.receiving, state.closing = None, None
        return True
    ended = next((t for t, s in state.streams.items() if s.ended), None)
    if ended is None:
        return False
    _deliver_stream(state, ended, callback)
    return True


def _deliver_stream(state: GrpcState, token: int, callback: Callable[..., object]) -> None:
    response = state.streams[token].response
    if response.status == 0:
        initial = [*RESPONSE_HEADERS, *_ACCEPT, *_SERVICE_TIME, *response.initial_metadata]
        trailing = [("grpc-status", "0"), ("grpc-message", ""), *response.trailing_metadata]
    else:  # trailers-only: no initial metadata, the response headers come as trailers
        initial = []
        trailing = [
            *RESPONSE_HEADERS,
            ("grpc-status", str(response.status)),
            ("grpc-message", response.status_message),
            *_SERVICE_TIME,
            *response.trailing_metadata,
        ]
    steps: list[tuple[str, int]] = [("proxy_on_grpc_receive_initial_metadata", len(initial))]
    if response.status == 0:
        steps.append(("proxy_on_grpc_receive", len(response.message)))
    steps += [
        ("proxy_on_grpc_receive_trailing_metadata", len(trailing)),
        ("proxy_on_grpc_close", response.status),
    ]
    for name, arg in steps:
        if token not in state.streams:
            return  # cancelled by an earlier callback
        if name == "proxy_on_grpc_close":
            state.streams.pop(token)
        try:
            state.receiving = response.message if name == "proxy_on_grpc_receive" else None
            state.metadata = (
                (4, initial) if "initial" in name else (5, trailing) if "trailing" in name else None
            )
            if name == "proxy_on_grpc_close":
                state.closing = (response.status, response.status_details())
            callback(name, token, arg)
        finally:
            state.receiving, state.closing, state.metadata = None, None, None
