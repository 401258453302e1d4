"""``wasmkit cache serve``: the node cache's HTTP server and its sync loop.

``GET /<64 hex>`` streams the module with that sha256 (the ``http`` and ``wasmplugin`` deliveries
point Envoy and Istio's agent here, with the same sha256 to check); any other path is 404, any
other method 405. ``GET /healthz`` answers 200. Every ``interval`` the loop reads what the
FilterDeployments want (:class:`CacheCluster`), pulls and evicts (:class:`NodeCache`), and reports
what the node holds (the node's Lease). If the cluster cannot be read, nothing is evicted.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from wasmkit.errors import WasmkitError
from wasmkit.oci import Credential
from wasmkit.operator.node_cache import NodeCache, Report, Want

log = logging.getLogger(__name__)


class CacheCluster(Protocol):
    """What the cache needs from the API server (the kube adapter implements it)."""

    def wanted(self) -> list[Want]: ...

    def credential(self, want: Want) -> Credential | None: ...

    def report(self, node: str, report: Report) -> None: ...


def _handler(cache: NodeCache) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "wasmkit-cache"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s " + format, self.address_string(), *args)

        def _reply(self, status: HTTPStatus, body: bytes = b"") -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            name = self.path.split("?", 1)[0].lstrip("/")
            if name == "healthz":
                self._reply(HTTPStatus.OK, b"ok\n")
                return
            path = cache.file_of(name)
            if path is None:
                self._reply(HTTPStatus.NOT_FOUND, b"no such module\n")
                return
            with path.open("rb") as f:
                size = f.seek(0, 2)
                f.seek(0)
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", "application/wasm")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                shutil.copyfileobj(f, self.wfile)

        def _refuse(self) -> None:
            self._reply(HTTPStatus.METHOD_NOT_ALLOWED, b"GET only\n")

        do_POST = do_PUT = do_DELETE = do_PATCH = _refuse

    return Handler


@contextmanager
def http_server(cache: NodeCache, host: str, port: int) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer((host, port), _handler(cache))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="cache-http", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class CacheLoop:
    cache: NodeCache
    cluster: CacheCluster
    node: str
    interval: float = 2.0
    #: Rewrite the Lease at least this often even if nothing changed (liveness).
    heartbeat: float = 30.0

    def __post_init__(self) -> None:
        self._last: Report | None = None
        self._since = 0.0

    def step(self) -> Report | None:
        """One sync; None if the cluster could not be read (nothing evicted then)."""
        try:
            wants = self.cluster.wanted()
            credentials = {w.image: self.cluster.credential(w) for w in wants if w.pull_secret}
        except WasmkitError as exc:
            log.warning("cannot read the FilterDeployments, keeping everything: %s", exc)
            return None
        report = self.cache.sync(wants, credentials)
        self._since += self.interval
        if report != self._last or self._since >= self.heartbeat:
            try:
                self.cluster.report(self.node, report)
            except WasmkitError as exc:
                log.warning("cannot report to the API server: %s", exc)
                return report
            self._last, self._since = report, 0.0
        return report

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.step()
            stop.wait(self.interval)
