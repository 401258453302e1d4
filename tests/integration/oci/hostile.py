"""Helpers for the hostile-input tests: a registry that misbehaves on demand, digests that are
paths, and what a directory holds."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.integration.oci.servers import TestCA, serve_http


def traversal_digest(start: Path, target: Path) -> str:
    """``sha256:`` and exactly 64 characters that, joined to ``start``, name ``target``."""
    relative = os.path.relpath(target, start)
    padding = 64 - len(relative)
    assert padding >= 0, f"{relative} is too long to fit in a digest"
    return "sha256:" + "./" * (padding // 2) + "/" * (padding % 2) + relative


def snapshot(root: Path, *, exclude: Path) -> dict[str, bytes]:
    """Every file under ``root`` but ``exclude``, by relative path, with its bytes."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path == exclude or exclude in path.parents or not path.is_file():
            continue
        out[str(path.relative_to(root))] = path.read_bytes()
    return out


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: send the body this many bytes at a time, ``drip_every`` seconds apart (a slow registry)
    drip: int = 0
    drip_every: float = 0.0


class HostileServer:
    """An HTTP(S) server on loopback that answers as ``handler`` says and records each request.

    Where a real registry cannot misbehave on demand (an upload Location on another origin, a
    token realm over plain HTTP, escape sequences in errors, one byte every second) this one
    does. ``requests`` keeps every request it saw, headers included, for the no-secret checks.
    """

    def __init__(
        self,
        handler: Callable[[Request], Reply],
        tls: TestCA | None = None,
        address: str = "127.0.0.1",  # another loopback address: a name the certificate lacks
    ):
        self.handler = handler
        self.tls = tls
        self.address = address
        self.requests: list[Request] = []
        self.port = 0
        self.stop = threading.Event()

    @property
    def host(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @contextmanager
    def serve(self) -> Iterator[HostileServer]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Request(self.command, self.path, dict(self.headers.items()), body)
                owner.requests.append(request)
                reply = owner.handler(request)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if not reply.drip:
                    self.wfile.write(reply.body)
                    return
                for start in range(0, len(reply.body), reply.drip):
                    if owner.stop.wait(reply.drip_every):
                        return
                    self.wfile.write(reply.body[start : start + reply.drip])
                    self.wfile.flush()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        with serve_http(Handler, self.tls, self.address) as server:
            self.port = server.server_address[1]
            try:
                yield self
            finally:
                self.stop.set()


def authorizations(server: HostileServer) -> list[str]:
    """Every Authorization header the server was sent."""
    return [
        value
        for request in server.requests
        for name, value in request.headers.items()
        if name.lower() == "authorization"
    ]
