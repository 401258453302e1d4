"""gRPC calls: ``proxy_grpc_call`` (unary) and its answers, as Envoy delivers them.

Envoy (proxy-wasm-cpp-host) makes every gRPC call on the root context and answers it there,
with the root context's id, once the callback that made it has returned:

- a reply (gRPC status 0): ``proxy_on_grpc_receive(root, token, size)`` with the message in
  the GrpcReceiveBuffer; a unary call gets no metadata callbacks and no close after it;
- a failure (any other status): ``proxy_on_grpc_close(root, token, status)``, the status and
  its message readable with ``proxy_get_status`` during that callback. Envoy appends the
  stream's response code details in braces to the service's message: a failure the
  service answered reads ``<message>{via_upstream}`` (measured on Envoy 1.40).

``proxy_grpc_cancel`` and ``proxy_grpc_close`` drop a pending call (no callback follows).
The service argument names a cluster (Envoy also takes a serialized GrpcService, which a
test file cannot declare); an unknown cluster refuses the call with ParseFailure, as Envoy.
Tokens of calls are odd, as Envoy numbers them (streams get even ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wasmkit.codes import Status
from wasmkit.emulator._calls import CallBase
from wasmkit.emulator.serial import host_pairs, u32


@dataclass(frozen=True)
class GrpcCall:
    """A ``proxy_grpc_call`` the guest made."""

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
    """A canned answer: status 0 delivers ``message``; any other status fails the call."""

    status: int = 0
    message: bytes = b""
    status_message: str = ""


#: Envoy's response code details of an answer that came from the service.
VIA_UPSTREAM = "via_upstream"

#: Decides the answer to a gRPC call; None means "no such cluster" (Envoy: ParseFailure).
GrpcResponder = Callable[[GrpcCall], GrpcCallResponse | None]


def no_grpc_clusters(call: GrpcCall) -> GrpcCallResponse | None:
    return None


@dataclass
class GrpcState:
    """One VM's gRPC calls: made, pending, and the answer being delivered."""

    responder: GrpcResponder = no_grpc_clusters
    calls: list[GrpcCall] = field(default_factory=list)
    pending: dict[int, tuple[GrpcCall, GrpcCallResponse]] = field(default_factory=dict)
    #: The message of the reply being delivered (the GrpcReceiveBuffer), else None.
    receiving: bytes | None = None
    #: (status, message) of the failure being delivered (proxy_get_status), else None.
    closing: tuple[int, str] | None = None
    _next_token: int = 1

    def next_token(self) -> int:
        token, self._next_token = self._next_token, self._next_token + 2
        return token


class GrpcCalls(CallBase):
    def proxy_grpc_call(
        self,
        service_ptr: int,
        service_size: int,
        service_name_ptr: int,
        service_name_size: int,
        method_ptr: int,
        method_size: int,
        metadata_ptr: int,
        metadata_size: int,
        message_ptr: int,
        message_size: int,
        timeout_ms: int,
        token_ptr: int,
    ) -> int:
        self.vm.guest.read(token_ptr, 4)
        state = self.vm.grpc
        call = GrpcCall(
            token=state.next_token(),
            context_id=self.vm.root.id,
            cluster=self._text(service_ptr, service_size),
            service=self._text(service_name_ptr, service_name_size),
            method=self._text(method_ptr, method_size),
            initial_metadata=tuple(host_pairs(self._read(metadata_ptr, metadata_size))),
            message=self._read(message_ptr, message_size),
            timeout_ms=timeout_ms & 0xFFFFFFFF,
        )
        response = state.responder(call)
        if response is None:
            return Status.PARSE_FAILURE  # no such cluster
        state.calls.append(call)
        state.pending[call.token] = (call, response)
        self.vm.guest.write(token_ptr, u32(call.token))
        return Status.OK

    def proxy_grpc_stream(self, *_args: int) -> int:
        return Status.UNIMPLEMENTED

    def proxy_grpc_send(self, *_args: int) -> int:
        return Status.UNIMPLEMENTED

    def proxy_grpc_cancel(self, token: int) -> int:
        return Status.OK if self.vm.grpc.pending.pop(token, None) else Status.NOT_FOUND

    def proxy_grpc_close(self, token: int) -> int:
        return self.proxy_grpc_cancel(token)


def deliver_next(state: GrpcState, callback: Callable[..., object]) -> bool:
    """Deliver the oldest pending answer through ``callback(name, token, arg)`` on the root
    context; False when none is pending."""
    if not state.pending:
        return False
    token = next(iter(state.pending))
    _call, response = state.pending.pop(token)
    try:
        if response.status == 0:
            state.receiving = response.message
            callback("proxy_on_grpc_receive", token, len(response.message))
        else:
            details = f"{response.status_message}{{{VIA_UPSTREAM}}}"
            state.closing = (response.status, details)
            callback("proxy_on_grpc_close", token, response.status)
    finally:
        state.receiving, state.closing = None, None
    return True
