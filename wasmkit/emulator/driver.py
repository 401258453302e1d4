"""Drive one HTTP stream callback by callback, for unit tests of a single callback.

``Filter.request`` plays a whole exchange the way Envoy does; a ``StreamDriver``
lets a test call exactly the callbacks it cares about, with the headers and
bodies it chooses, and look at the maps, bodies and local reply in between::

    stream = f.stream(HttpRequest("GET", "/", (("x-deny", "1"),)))
    assert stream.on_request_headers() == 1          # Pause
    assert stream.local_reply.status == 403
    stream.close()

A trap propagates as GuestTrap (no failure policy applies at this level).
"""

from __future__ import annotations

from collections.abc import Sequence

from wasmkit.emulator.context import Context, LocalReply
from wasmkit.emulator.serial import Pairs
from wasmkit.emulator.stream import HttpRequest, request_headers
from wasmkit.emulator.vm import Vm


class StreamDriver:
    def __init__(self, vm: Vm, request: HttpRequest):
        self.vm = vm
        self.ctx: Context = vm.new_context(vm.world.clock.now_ns())
        self.ctx.request_headers = request_headers(request)
        self._body = request.body
        self.closed = False

    def _run(self, name: str, *args: int) -> int:
        action = self.vm.callback(self.ctx, name, *args)
        self.vm.drain()
        return 0 if action is None else action

    def on_request_headers(self, end_of_stream: bool | None = None) -> int:
        """proxy_on_request_headers; end_of_stream defaults to "the request has no body"."""
        eos = not self._body if end_of_stream is None else end_of_stream
        headers = self.ctx.request_headers or []
        return self._run("proxy_on_request_headers", len(headers), int(eos))

    def on_request_body(self, body: bytes | None = None, end_of_stream: bool = True) -> int:
        chunk = self._body if body is None else body
        self.ctx.request_body = bytearray(self.ctx.request_body or b"") + chunk
        self.ctx.request_complete = end_of_stream
        return self._run("proxy_on_request_body", len(self.ctx.request_body), int(end_of_stream))

    def on_response_headers(
        self, headers: Sequence[tuple[str, str]] = ((":status", "200"),), end_of_stream: bool = True
    ) -> int:
        self.ctx.response_headers = [(k.lower(), v) for k, v in headers]
        return self._run("proxy_on_response_headers", len(headers), int(end_of_stream))

    def on_response_body(self, body: bytes, end_of_stream: bool = True) -> int:
        self.ctx.response_body = bytearray(self.ctx.response_body or b"") + body
        self.ctx.response_complete = end_of_stream
        return self._run("proxy_on_response_body", len(self.ctx.response_body), int(end_of_stream))

    def close(self) -> None:
        """proxy_on_log, proxy_on_done, proxy_on_delete."""
        if not self.closed:
            self.closed = True
            self.vm.finish(self.ctx)

    # What the filter left behind.
    @property
    def request_headers(self) -> Pairs:
        return list(self.ctx.request_headers or [])

    @property
    def response_headers(self) -> Pairs:
        return list(self.ctx.response_headers or [])

    @property
    def request_body(self) -> bytes:
        return bytes(self.ctx.request_body or b"")

    @property
    def response_body(self) -> bytes:
        return bytes(self.ctx.response_body or b"")

    @property
    def local_reply(self) -> LocalReply | None:
        return self.ctx.local_reply

    @property
    def resumed(self) -> set[int]:
        """Stream types the filter resumed (0 request, 1 response) with proxy_continue_stream."""
        return set(self.ctx.resumed)
