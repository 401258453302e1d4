"""The host-side state of one proxy-wasm context (root or HTTP stream) and of HTTP calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wasmkit.emulator.serial import Pairs


@dataclass(frozen=True)
class LocalReply:
    """What ``proxy_send_local_response`` asked for."""

    status: int
    details: str
    body: bytes
    headers: tuple[tuple[str, str], ...]
    grpc_status: int = -1


@dataclass(frozen=True)
class HttpCall:
    """A ``proxy_http_call`` the guest made (what a test asserts on)."""

    token: int
    context_id: int
    cluster: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    trailers: tuple[tuple[str, str], ...]
    timeout_ms: int

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)


@dataclass(frozen=True)
class HttpCallResponse:
    """A canned answer to an HTTP call; ``timeout`` delivers a failed call (no headers)."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    trailers: tuple[tuple[str, str], ...] = ()
    timeout: bool = False

    def header_pairs(self) -> Pairs:
        if self.timeout:
            return []
        return [(":status", str(self.status)), *((k.lower(), v) for k, v in self.headers)]


#: Decides the answer to an HTTP call; None means "no such cluster" (Envoy: BadArgument).
Responder = Callable[[HttpCall], HttpCallResponse | None]


def no_clusters(call: HttpCall) -> HttpCallResponse | None:
    return None


@dataclass
class Context:
    id: int
    root: bool = False
    request_headers: Pairs | None = None
    request_body: bytearray | None = None
    request_trailers: Pairs | None = None
    response_headers: Pairs | None = None
    response_body: bytearray | None = None
    response_trailers: Pairs | None = None
    #: Whether the body buffered so far is the whole body (proxy_get_buffer_status flags).
    request_complete: bool = False
    response_complete: bool = False
    local_reply: LocalReply | None = None
    #: Stream types (0 request, 1 response) the guest resumed with proxy_continue_stream.
    resumed: set[int] = field(default_factory=set)
    closed: bool = False
    #: Values the guest stored with proxy_set_property.
    properties: dict[tuple[str, ...], bytes] = field(default_factory=dict)
    start_ns: int = 0
    details: str | None = None
