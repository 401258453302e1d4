"""Loopback middlemen for the transport tests: an HTTP proxy, and a forwarder that counts.

:class:`TestProxy` is a forward proxy as a company runs one: ``CONNECT host:port`` opens a
tunnel (for https: the proxy sees only the bytes TLS made of the traffic), and an
absolute-form request (``GET http://host:port/path``, for plain HTTP) is forwarded with
``Proxy-Authorization`` taken off. It keeps each client connection and its upstream alive,
records every request head it was sent and every byte it tunneled, and can require
``Proxy-Authorization: Basic``. :class:`CountingForwarder` relays TCP to one port and counts
the connections it accepted - what "one kept connection" means on the wire.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from tests.integration.oci.servers import serve_tcp

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


class Peer:
    """A socket read as HTTP/1.1 needs it: a head up to its blank line, then exact bodies."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""

    def head(self) -> bytes | None:
        while b"\r\n\r\n" not in self.buffer:
            data = self.sock.recv(65536)
            if not data:
                return None
            self.buffer += data
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        return head

    def exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("the client closed mid-body")
            self.buffer += data
        body, self.buffer = self.buffer[:n], self.buffer[n:]
        return body


def _splice(a: socket.socket, b: socket.socket, stop: threading.Event, record: bytearray) -> None:
    """Relay both ways until one side closes; bytes from ``a`` are appended to ``record``."""
    sockets = [a, b]
    while not stop.is_set():
        readable, _, _ = select.select(sockets, [], [], 0.05)
        for sock in readable:
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                return
            if sock is a:
                record += data
            (b if sock is a else a).sendall(data)


@dataclass
class _Session:
    """One client connection and the upstream connection its plain-HTTP requests go to."""

    client: Peer
    upstream: http.client.HTTPConnection | None = None


@dataclass
class Seen:
    """One request head the proxy was sent: ``CONNECT host:port`` or an absolute-form one."""

    method: str
    target: str
    headers: dict[str, str]  # names in lower case

    @property
    def host(self) -> str:
        return self.target if self.method == "CONNECT" else urlsplit(self.target).netloc


@dataclass
class TestProxy:
    __test__ = False
    #: (user, password) every request must carry as Proxy-Authorization: Basic
    credentials: tuple[str, str] | None = None
    seen: list[Seen] = field(default_factory=list)
    #: every byte clients sent through CONNECT tunnels (TLS records, if the tunnel carries TLS)
    tunneled: bytearray = field(default_factory=bytearray)
    connections: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        if self.credentials is None:
            return f"http://127.0.0.1:{self.port}"
        user, password = (quote(part, safe="") for part in self.credentials)
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    @property
    def expected_authorization(self) -> str | None:
        if self.credentials is None:
            return None
        pair = ":".join(self.credentials).encode()
        return "Basic " + base64.b64encode(pair).decode()

    @contextmanager
    def serve(self) -> Iterator[TestProxy]:
        lock = threading.Lock()

        def handle(conn: socket.socket, stop: threading.Event) -> None:
            with lock:
                self.connections += 1
            session = _Session(Peer(conn))
            try:
                while not stop.is_set():
                    head = session.client.head()
                    if head is None or not self._answer(session, head, stop):
                        return
            finally:
                if session.upstream is not None:
                    session.upstream.close()

        with serve_tcp(handle) as self.port:
            yield self

    def _answer(self, session: _Session, head: bytes, stop: threading.Event) -> bool:
        """Answer one request; False when the client connection is done."""
        client = session.client
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self.seen.append(Seen(method, target, headers))
        expected = self.expected_authorization
        if expected is not None and headers.get("proxy-authorization") != expected:
            client.sock.sendall(
                b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                b'Proxy-Authenticate: Basic realm="test proxy"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return False
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
            except OSError:
                client.sock.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return False
            with upstream:
                client.sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if client.buffer:
                    self.tunneled += client.buffer
                    upstream.sendall(client.buffer)
                _splice(client.sock, upstream, stop, self.tunneled)
            return False
        where = urlsplit(target)
        assert where.scheme == "http" and where.hostname, f"not absolute-form: {lines[0]}"
        assert "transfer-encoding" not in headers, "the test proxy reads Content-Length bodies"
        body = client.exactly(int(headers.get("content-length") or 0))
        connection = session.upstream
        if connection is None or (connection.host, connection.port) != (where.hostname, where.port):
            if connection is not None:
                connection.close()
            connection = http.client.HTTPConnection(where.hostname, where.port or 80, timeout=10)
            session.upstream = connection
        path = (where.path or "/") + (f"?{where.query}" if where.query else "")
        forwarded = {n: v for n, v in headers.items() if n not in _HOP_BY_HOP}
        connection.request(method, path, body=body if body else None, headers=forwarded)
        answer = connection.getresponse()
        data = answer.read()
        out = [f"HTTP/1.1 {answer.status} {answer.reason}\r\n".encode("latin-1")]
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP | {"content-length"}:
                out.append(f"{name}: {value}\r\n".encode("latin-1"))
        length = answer.getheader("Content-Length") if method == "HEAD" else str(len(data))
        if length is not None:
            out.append(f"Content-Length: {length}\r\n".encode())
        out.append(b"\r\n")
        client.sock.sendall(b"".join(out) + (b"" if method == "HEAD" else data))
        return True


@dataclass
class CountingForwarder:
    """Relays each TCP connection to ``127.0.0.1:target`` and counts those it accepted."""

    target: int
    accepted: int = 0
    port: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @contextmanager
    def serve(self) -> Iterator[CountingForwarder]:
        lock = threading.Lock()

        def handle(conn: socket.socket, stop: threading.Event) -> None:
            with lock:
                self.accepted += 1
            with socket.create_connection(("127.0.0.1", self.target), timeout=5) as upstream:
                _splice(conn, upstream, stop, bytearray())

        with serve_tcp(handle) as self.port:
            yield self
