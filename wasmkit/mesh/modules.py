"""The module over HTTP for ``--source http``: where deploy's cache Service would serve it.

Deploy points an EnvoyFilter's remote code (and a WasmPlugin's ``http://`` url) at the cluster's
module cache, ``http://wasmkit-cache.wasmkit-system.svc.cluster.local:<port>/<sha256>``. In the
mesh-in-a-box that name resolves to 127.0.0.1 through a hosts file bound over ``/etc/hosts`` in
the sidecar's (and the agent's) private mount namespace, and this server answers ``GET /<sha256>``
with the module under test on a free loopback port; anything else is 404.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@contextmanager
def serve_module(module: Path, sha256: str, port: int) -> Iterator[ThreadingHTTPServer]:
    data = module.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            found = self.path.split("?", 1)[0].lstrip("/") == sha256
            body = data if found else b"no such module\n"
            self.send_response(HTTPStatus.OK if found else HTTPStatus.NOT_FOUND)
            self.send_header("Content-Type", "application/wasm" if found else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    # Both loopbacks: Envoy's resolver asks for IPv6 first (lookup family AUTO) and, with the
    # name in the hosts file for IPv4 only, would wait on an unreachable DNS server instead.
    servers = [ThreadingHTTPServer(("127.0.0.1", port), Handler)]
    if socket.has_ipv6:
        with contextlib.suppress(OSError):
            servers.append(_IPv6Server(("::1", port), Handler))
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="mesh-modules", daemon=True).start()
    try:
        yield servers[0]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def hosts_file(path: Path, names: list[str]) -> Path:
    """A hosts file that maps ``names`` (and localhost) to both loopback addresses."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "127.0.0.1 localhost\n::1 localhost\n" + "".join(f"127.0.0.1 {n}\n" for n in names)
    )
    return path
