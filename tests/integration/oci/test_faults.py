"""Faults a registry can throw at a pull; each is a clear error and leaves the store as it was."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.fake_registry import FakeRegistry, digest, wasm_of_size
from wasmkit.oci import IntegrityError, LocalStore, RegistryOptions, pull

pytestmark = pytest.mark.registry

PLAIN = RegistryOptions(plain_http=True, timeout=10)


def _tar_gz(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)


def _untouched(store: LocalStore) -> None:
    assert store.images() == []
    blobs = store.root / "blobs" / "sha256"
    assert not blobs.exists() or not any(blobs.iterdir())
    modules = store.root / "modules"
    assert not modules.exists() or not any(modules.iterdir())


def _compat(fake: FakeRegistry, repo: str, module: bytes) -> str:
    layer = _tar_gz({"plugin.wasm": module})
    fake.add_image(
        repo,
        "v1",
        b'{"architecture":"wasm","os":"wasip1"}',
        [("application/vnd.oci.image.layer.v1.tar+gzip", layer)],
    )
    return digest(layer)


def test_a_blob_whose_bytes_do_not_match_its_digest(store: LocalStore, module: Path) -> None:
    with FakeRegistry().serve() as fake:
        layer = _compat(fake, "x/bad", module.read_bytes())
        served = bytearray(fake.blobs[layer])
        served[len(served) // 2] ^= 0xFF
        fake.blobs[layer] = bytes(served)
        with pytest.raises(IntegrityError) as caught:
            pull(store, f"{fake.host}/x/bad:v1", PLAIN)
    assert "does not match its digest" in caught.value.message
    assert caught.value.exit_code == 3 and caught.value.hint
    _untouched(store)
    assert os.listdir(store.root / "tmp") == []


def test_a_blob_longer_than_its_descriptor(store: LocalStore, module: Path) -> None:
    with FakeRegistry().serve() as fake:
        layer = _compat(fake, "x/long", module.read_bytes())
        fake.blobs[layer] += b"trailing junk"
        with pytest.raises(IntegrityError):
            pull(store, f"{fake.host}/x/long:v1", PLAIN)
    _untouched(store)


def test_a_plugin_that_is_not_wasm(store: LocalStore) -> None:
    from wasmkit.errors import ModuleError

    with FakeRegistry().serve() as fake:
        _compat(fake, "x/elf", b"\x7fELF" + b"\0" * 100)
        with pytest.raises(ModuleError) as caught:
            pull(store, f"{fake.host}/x/elf:v1", PLAIN)
    assert "not a WebAssembly module" in caught.value.message
    _untouched(store)


def test_an_ordinary_container_image_is_not_a_filter(store: LocalStore) -> None:
    from wasmkit.errors import ModuleError

    with FakeRegistry().serve() as fake:
        fake.add_image(
            "library/busybox",
            "v1",
            b'{"architecture":"amd64","os":"linux"}',
            [("application/vnd.oci.image.layer.v1.tar+gzip", _tar_gz({"bin/sh": b"x"}))],
        )
        with pytest.raises(ModuleError):
            pull(store, f"{fake.host}/library/busybox:v1", PLAIN)
    _untouched(store)


def test_the_wasm_artifact_layout_is_read_and_istio_would_refuse_it(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    with FakeRegistry().serve() as fake:
        fake.add_image(
            "x/artifact",
            "v1",
            b"{}",
            [("application/wasm", module.read_bytes())],
            config_type="application/vnd.wasm.config.v0+json",
        )
        record = pull(store, f"{fake.host}/x/artifact:v1", PLAIN)
    assert record.layout == "wasm-artifact"
    assert store.module_path(record.ref).read_bytes() == module.read_bytes()
    checked = wasmkit("inspect", record.ref, "--check", "istio", "--json")
    assert checked.code == 1
    istio = json.loads(checked.out)["istio"]
    assert not istio["accepted"] and "not a tar layer" in istio["problems"][0]


def test_a_pull_killed_half_way_leaves_the_store_unchanged(store: LocalStore, home: Path) -> None:
    module = wasm_of_size(8 * 1024 * 1024)
    with FakeRegistry().serve() as fake:
        layer = _compat(fake, "x/slow", module)
        fake.stall_blob = layer
        ref = f"{fake.host}/x/slow:v1"
        env = {**os.environ, "WASMKIT_HOME": str(home)}
        process = subprocess.Popen(
            [sys.executable, "-m", "wasmkit", "pull", ref, "--plain-http"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert fake.half_sent.wait(30), "the pull never started downloading"
            deadline = time.monotonic() + 10
            partial: list[Path] = []
            while not partial and time.monotonic() < deadline:
                partial = [
                    p
                    for p in (store.root / "tmp").rglob(f"{layer[7:]}.partial")
                    if p.stat().st_size > 0
                ]
                time.sleep(0.01)
            assert partial, "the layer download never reached the disk"
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        _untouched(store)
        staged = [p for p in (store.root / "tmp").rglob("*") if p.is_file()]
        # what is there is either marked partial or complete and verified (named by its digest)
        assert any(p.name == f"{layer[7:]}.partial" for p in staged)
        for p in staged:
            assert p.name.endswith(".partial") or digest(p.read_bytes()) == f"sha256:{p.name}"
        assert not any(p.name == layer[7:] for p in store.root.rglob("*"))
        # the next pull completes and sweeps the dead process's staging directory
        fake.release.set()
        fake.stall_blob = None
        record = pull(store, ref, PLAIN)
    assert store.module_path(ref).read_bytes() == module
    assert record.size == len(module)
    assert os.listdir(store.root / "tmp") == []


def test_403_says_denied_and_how_to_get_access(store: LocalStore, module: Path) -> None:
    from wasmkit.oci import AuthError

    with FakeRegistry(deny=True).serve() as fake:
        _compat(fake, "x/private", module.read_bytes())
        with pytest.raises(AuthError) as caught:
            pull(store, f"{fake.host}/x/private:v1", PLAIN)
    assert "403" in caught.value.message and "access denied" in caught.value.message
    assert caught.value.hint and f"wasmkit login {fake.host}" in caught.value.hint
    assert caught.value.exit_code == 2
    _untouched(store)
