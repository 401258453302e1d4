"""Finding 7 of the hostile-registry probe: a registry that drips bytes cannot hold a pull.

``--timeout`` bounds each read; a transfer as a whole must also end: it gets ``--timeout``
seconds plus its size at a minimum rate (64 KiB/s). A registry that sends one byte a second
- each read well inside the timeout - is cut off at that deadline with exit 3 and a hint.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.fake_registry import digest
from tests.integration.oci.hostile import HostileServer, Reply, Request
from tests.integration.oci.servers import serve_tcp
from wasmkit.oci import LocalStore

pytestmark = pytest.mark.registry

TIMEOUT = 2  # seconds: --timeout, so each drip below (0.2 s) is within it


def _dripping(
    manifest: bytes, blobs: dict[str, bytes], drip_what: str
) -> Callable[[Request], Reply]:
    def handle(request: Request) -> Reply:
        if "/manifests/" in request.path:
            reply = Reply(
                200, manifest, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
            )
        elif "/blobs/" in request.path:
            reply = Reply(200, blobs[request.path.rpartition("/")[2]])
        else:
            return Reply(200, b"{}")
        if drip_what in request.path:
            reply.drip, reply.drip_every = 1, 0.2
        return reply

    return handle


def _image(module: bytes) -> tuple[bytes, dict[str, bytes]]:
    config = b"{}"
    manifest = (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",'
        b'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'
        + digest(config).encode()
        + b'","size":2},"layers":[{"mediaType":"application/wasm","digest":"'
        + digest(module).encode()
        + b'","size":'
        + str(len(module)).encode()
        + b"}]}"
    )
    return manifest, {digest(config): config, digest(module): module}


@pytest.mark.parametrize("what", ["/manifests/", "/blobs/sha256:"])
def test_a_registry_that_drips_one_byte_at_a_time(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result], what: str
) -> None:
    manifest, blobs = _image(module.read_bytes())
    with HostileServer(_dripping(manifest, blobs, what)).serve() as registry:
        start = time.monotonic()
        result = wasmkit(
            "pull", f"{registry.host}/x/slow:v1", "--plain-http", "--timeout", str(TIMEOUT)
        )
        elapsed = time.monotonic() - start
    assert result.code == 3, result.err
    assert "too slow" in result.err and "--timeout" in result.err and "hint:" in result.err
    # bounded: one drip of the whole body would take len/5 s (minutes); the deadline is seconds
    assert elapsed < len(manifest) * 0.2 / 2
    assert store.images() == []


def test_the_timeout_help_says_it_bounds_a_whole_transfer(wasmkit: Callable[..., Result]) -> None:
    shown = wasmkit("pull", "--help")
    assert "--timeout" in shown.out and "whole transfer" in " ".join(shown.out.split())


def _drip_head(conn: socket.socket, stop: threading.Event) -> None:
    """A status line, then one header byte every 0.2 s for ever: each read is well inside
    --timeout, the head never ends."""
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
    while not stop.wait(0.2):
        try:
            conn.sendall(b"a")
        except OSError:
            return


def test_a_registry_that_drips_its_headers_cannot_hold_a_pull(
    store: LocalStore, wasmkit: Callable[..., Result]
) -> None:
    with serve_tcp(_drip_head) as port:
        start = time.monotonic()
        result = wasmkit("pull", f"127.0.0.1:{port}/x/slow:v1", "--plain-http", "--timeout", "2")
        elapsed = time.monotonic() - start
    assert result.code == 3, result.err
    assert "did not answer in time" in result.err and "headers took too long" in result.err
    assert "hint:" in result.err
    assert elapsed < 8  # the head gets --timeout in all, not --timeout per byte
    assert store.images() == []
