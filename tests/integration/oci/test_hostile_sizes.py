"""Finding 5 of the hostile-registry probe: sizes come from someone else and are bounded.

A layer that inflates past the module limit, a tar of thousands of members, configs and
layers wasmkit does not use, a manifest of thousands of layers, a manifest nested 100 000
deep, an error page of 64 MiB: each is refused (exit 2) or skipped before it costs memory,
disk or time, and the store is left as it was.
"""

from __future__ import annotations

import json
import tarfile
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.fake_registry import FakeRegistry, digest
from tests.integration.oci.hostile import HostileServer, Reply, Request, snapshot
from wasmkit.oci import Digest, LocalStore

pytestmark = pytest.mark.registry

MiB = 1024 * 1024
TAR_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _gzip(chunks: Iterator[bytes]) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip stream
    out = [compressor.compress(chunk) for chunk in chunks]
    return b"".join(out) + compressor.flush()


def _tar_stream(members: list[tuple[str, int, bytes]]) -> Iterator[bytes]:
    """A tar, streamed: (name, size, fill byte pattern) members, without holding it whole."""
    for name, size, fill in members:
        info = tarfile.TarInfo(name)
        info.size = size
        yield info.tobuf(format=tarfile.USTAR_FORMAT)
        left = size
        while left:
            n = min(left, MiB)
            yield (fill * (n // len(fill) + 1))[:n]
            left -= n
        yield b"\0" * (-size % 512)
    yield b"\0" * 1024


def _refused(result: Result, store: LocalStore, words: str) -> None:
    assert result.code == 2, result.err
    assert words in result.err and "hint:" in result.err and "Traceback" not in result.err
    assert store.images() == []
    blobs = store.root / "blobs" / "sha256"
    assert not blobs.exists() or not any(blobs.iterdir())


def test_a_layer_that_inflates_past_the_limit(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    wasm = module.read_bytes()
    layer = _gzip(_tar_stream([("junk", 260 * MiB, b"\0"), ("plugin.wasm", len(wasm), wasm)]))
    assert len(layer) < 1 * MiB
    with FakeRegistry().serve() as fake:
        fake.add_image("x/bomb", "v1", b"{}", [(TAR_GZ, layer)])
        result = wasmkit("pull", f"{fake.host}/x/bomb:v1", "--plain-http")
    _refused(result, store, "inflates to more than")


def test_a_tar_of_many_members(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    wasm = module.read_bytes()
    members = [(f"e{i}", 0, b"\0") for i in range(5000)] + [("plugin.wasm", len(wasm), wasm)]
    with FakeRegistry().serve() as fake:
        fake.add_image("x/many", "v1", b"{}", [(TAR_GZ, _gzip(_tar_stream(members)))])
        result = wasmkit("pull", f"{fake.host}/x/many:v1", "--plain-http")
    _refused(result, store, "members")


def test_a_huge_config_is_not_downloaded(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    config = b'{"pad": "' + b"x" * (8 * MiB) + b'"}'
    with FakeRegistry().serve() as fake:
        fake.add_image("x/config", "v1", config, [("application/wasm", module.read_bytes())])
        result = wasmkit("pull", f"{fake.host}/x/config:v1", "--plain-http")
    _refused(result, store, "config")
    assert digest(config) not in fake.fetched


def test_layers_wasmkit_does_not_use_are_not_downloaded(
    tmp_path: Path, store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    wasm = module.read_bytes()
    extra = b"\1" * (4 * MiB)  # a base layer of some other image
    plugin = _gzip(_tar_stream([("plugin.wasm", len(wasm), wasm)]))
    with FakeRegistry().serve() as fake:
        fake.add_image("x/extra", "v1", b"{}", [(TAR_GZ, extra), (TAR_GZ, plugin)])
        pulled = wasmkit("pull", f"{fake.host}/x/extra:v1", "--plain-http")
        assert pulled.code == 0, pulled.err
        assert digest(extra) not in fake.fetched and digest(plugin) in fake.fetched
    assert not store.blob_path(Digest(digest(extra))).exists()
    assert store.module_path(f"{fake.host}/x/extra:v1").read_bytes() == wasm
    shown = wasmkit("inspect", f"{fake.host}/x/extra:v1")
    assert shown.code == 0 and "layout:" in shown.out

    # pushing it elsewhere cannot send a layer it does not hold: a clear error, a way out
    def other_registry(request: Request) -> Reply:  # has every blob but the extra layer
        return Reply(404 if digest(extra) in request.path else 200)

    with HostileServer(other_registry).serve() as other:
        assert wasmkit("tag", f"{fake.host}/x/extra:v1", f"{other.host}/x/extra:v1").code == 0
        pushed = wasmkit("push", f"{other.host}/x/extra:v1", "--plain-http")
    assert pushed.code == 2 and "--format compat" in pushed.err, pushed.err


def test_a_manifest_of_thousands_of_layers(
    store: LocalStore, wasmkit: Callable[..., Result]
) -> None:
    layer = {"mediaType": TAR_GZ, "digest": "sha256:" + "a" * 64, "size": 1}
    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": layer, "layers": [layer] * 5000}
    ).encode()
    with FakeRegistry().serve() as fake:
        fake.manifests["x/layers:v1"] = (raw, OCI_MANIFEST)
        result = wasmkit("pull", f"{fake.host}/x/layers:v1", "--plain-http")
    _refused(result, store, "layers")
    assert fake.fetched == []


def test_a_manifest_nested_too_deep(store: LocalStore, wasmkit: Callable[..., Result]) -> None:
    raw = b'{"schemaVersion": 2, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with FakeRegistry().serve() as fake:
        fake.manifests["x/deep:v1"] = (raw, OCI_MANIFEST)
        result = wasmkit("pull", f"{fake.host}/x/deep:v1", "--plain-http")
    _refused(result, store, "nested deeper")


def test_a_huge_error_page_is_read_in_part(
    tmp_path: Path, store: LocalStore, wasmkit: Callable[..., Result]
) -> None:
    page = b"<html>" + b"x" * (64 * MiB)

    def handle(request: Request) -> Reply:
        return Reply(400, page, {"Content-Type": "text/html"})

    before = snapshot(tmp_path, exclude=store.root)
    with HostileServer(handle).serve() as registry:
        tracemalloc.start()
        try:
            result = wasmkit("pull", f"{registry.host}/x/y:v1", "--plain-http")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * MiB  # the page is 64 MiB: read in part, never whole
    assert result.code == 2 and "answered 400" in result.err and "hint:" in result.err
    assert len(result.err) < 2000
    assert snapshot(tmp_path, exclude=store.root) == before
