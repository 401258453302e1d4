"""The harness upstream: a real HTTP server on loopback that reports what it received.

Without a canned reply it answers 200 with a JSON echo of the request (method,
path, headers, body); with one it answers exactly that. Either way it records
the request, so request-side mutations by the filter are assertable.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024 * 1024


@dataclass(frozen=True)
class CannedReply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class ReceivedRequest:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    canned: CannedReply | None = None
    #: Answers given one per request, before ``canned`` or the echo (a cluster's upstream).
    queue: list[CannedReply] = field(default_factory=list)
    #: What to answer once the queue is used up (None: ``canned`` or the echo).
    exhausted: CannedReply | None = None
    received: list[ReceivedRequest] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def _body(self) -> bytes | None:
        """The request body, chunked or not; None when it is over MAX_BODY or malformed."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    size = int(line, 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)  # the CRLF after each chunk
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        body = self._body()
        if body is None:
            self.send_error(413)
            return
        headers = tuple((k.lower(), v) for k, v in self.headers.items())
        request = ReceivedRequest(self.command, self.path, headers, body)
        state = self.server.state
        with state.lock:
            state.received.append(request)
            canned = state.queue.pop(0) if state.queue else state.exhausted or state.canned
        if canned is None:
            status = 200
            reply_headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
            reply_body = json.dumps(echo_document(request), separators=(",", ":")).encode()
        else:
            status, reply_headers, reply_body = canned.status, canned.headers, canned.body
        self.send_response(status)
        for name, value in reply_headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(reply_body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply_body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


def echo_document(request: ReceivedRequest) -> dict[str, object]:
    try:
        body: str = request.body.decode()
        encoding = "utf-8"
    except UnicodeDecodeError:
        body, encoding = base64.b64encode(request.body).decode(), "base64"
    return {
        "method": request.method,
        "path": request.path,
        "headers": dict(request.headers),
        "body": body,
        "bodyEncoding": encoding,
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State

    def handle_error(self, request: object, client_address: object) -> None:
        # Envoy resets the upstream request when the filter answers itself after the router
        # had the headers: the reply then meets a closed socket. That is no error of ours
        # (http.server would print a traceback into the user's test report).
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class EchoUpstream:
    """Owns the server thread; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._server = _Server((host, port), _Handler)
        self._server.state = _State()
        # A short poll interval: shutdown() waits for the loop to notice (default 0.5 s; at
        # 20 ms, ~10 ms of every test run's teardown). A wake-up is a select() timing out.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.005},
            name="wasmkit-upstream",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> EchoUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def answer_in_turn(self, replies: list[CannedReply], then: CannedReply | None) -> None:
        """Answer the next requests with ``replies``, one each, then with ``then``."""
        state = self._server.state
        with state.lock:
            state.queue, state.exhausted = list(replies), then

    @contextmanager
    def exchange(
        self, canned: CannedReply | None, request_id: str | None = None
    ) -> Iterator[list[ReceivedRequest]]:
        """Answer with ``canned`` while the block runs; yield what arrived meanwhile.

        With ``request_id``, only requests carrying that ``x-request-id`` count: a request
        an earlier case left in flight (Envoy forwards headers before a later trap) is not
        taken for this case's.
        """
        state = self._server.state
        with state.lock:
            state.canned = canned
            start = len(state.received)
        arrived: list[ReceivedRequest] = []
        try:
            yield arrived
        finally:
            with state.lock:
                arrived.extend(
                    r
                    for r in state.received[start:]
                    if request_id is None or dict(r.headers).get("x-request-id") == request_id
                )
                state.canned = None
