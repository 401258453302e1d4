from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from wasmkit.errors import ModuleError, UnknownImage, UsageError
from wasmkit.oci.store import LocalStore

WASM = b"\0asm\x01\0\0\0"


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "home")


@pytest.fixture
def module(tmp_path: Path) -> Path:
    path = tmp_path / "m.wasm"
    path.write_bytes(WASM)
    return path


def _add(store: LocalStore, module: Path, ref: str, **kw: object) -> object:
    return store.add_module(module, ref, root_ids=["r"], abi_versions=["0.2.1"], **kw)  # type: ignore[arg-type]


def test_home_defaults_to_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WASMKIT_HOME", str(tmp_path / "wk"))
    assert LocalStore().home == tmp_path / "wk"
    monkeypatch.delenv("WASMKIT_HOME")
    assert LocalStore().home == Path.home() / ".wasmkit"


def test_add_resolve_module_path(store: LocalStore, module: Path) -> None:
    record = store.add_module(module, "localhost:5000/f:v1", root_ids=["r"], abi_versions=["0.2.1"])
    assert record.ref == "localhost:5000/f:v1"
    assert record.manifest_digest.startswith("sha256:")
    assert store.module_path("localhost:5000/f:v1").read_bytes() == WASM
    assert (
        store.resolve("localhost:5000/f@" + record.manifest_digest).module_sha256
        == record.module_sha256
    )
    with pytest.raises(UnknownImage):
        store.resolve("localhost:5000/f")  # :latest was never tagged


def test_unknown_refs(store: LocalStore) -> None:
    with pytest.raises(UnknownImage) as caught:
        store.resolve("localhost:5000/f:v1")
    assert "wasmkit images" in (caught.value.hint or "")
    with pytest.raises(UnknownImage):
        store.remove("localhost:5000/f:v1")


def test_bad_modules_and_abis(store: LocalStore, tmp_path: Path) -> None:
    text = tmp_path / "f.wat"
    text.write_text("(module)")
    with pytest.raises(ModuleError, match="not a WebAssembly module"):
        _add(store, text, "x/f:v1")
    with pytest.raises(ModuleError, match="does not exist"):
        _add(store, tmp_path / "none.wasm", "x/f:v1")
    (tmp_path / "ok.wasm").write_bytes(WASM)
    with pytest.raises(UsageError, match="unknown ABI"):
        store.add_module(tmp_path / "ok.wasm", "x/f:v1", root_ids=[], abi_versions=["9.9.9"])
    assert store.images() == []


def test_tag_and_remove_collect_garbage(store: LocalStore, module: Path, tmp_path: Path) -> None:
    first = _add(store, module, "x/f:v1")
    store.tag("x/f:v1", "x/g:v1")
    other = tmp_path / "other.wasm"
    other.write_bytes(WASM + b"\0\x03\x01y\0")  # one more (custom) section: another module
    second = _add(store, other, "x/f:v2")
    assert [r.ref for r in store.images()] == [
        "docker.io/x/f:v1",
        "docker.io/x/f:v2",
        "docker.io/x/g:v1",
    ]
    blobs = store.root / "blobs" / "sha256"
    before = set(os.listdir(blobs))
    store.remove("x/f:v1")
    assert set(os.listdir(blobs)) == before  # x/g:v1 still uses them
    store.remove("x/g:v1")
    left = set(os.listdir(blobs))
    assert first.manifest_digest[7:] not in left  # type: ignore[attr-defined]
    assert second.manifest_digest[7:] in left  # type: ignore[attr-defined]
    assert [p.stem for p in (store.root / "modules").iterdir()] == [second.module_sha256]  # type: ignore[attr-defined]


def test_retagging_drops_the_old_image(store: LocalStore, module: Path, tmp_path: Path) -> None:
    old = _add(store, module, "x/f:v1")
    other = tmp_path / "other.wasm"
    other.write_bytes(WASM + b"\0\x03\x01y\0")
    _add(store, other, "x/f:v1")
    assert not store.blob_path(old.manifest_digest).exists()  # type: ignore[attr-defined]


def test_concurrent_writers_lose_nothing(store: LocalStore, tmp_path: Path) -> None:
    errors: list[BaseException] = []

    def add(i: int) -> None:
        try:
            m = tmp_path / f"m{i}.wasm"
            m.write_bytes(WASM + b"\0\x03\x01" + bytes([65 + i]) + b"\0")
            store.add_module(m, f"x/f:v{i}", root_ids=[], abi_versions=[])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.images()) == 8
    index = json.loads((store.root / "index.json").read_text())
    assert len(index["refs"]) == 8


def test_staging_of_dead_processes_is_swept(store: LocalStore, module: Path) -> None:
    _add(store, module, "x/f:v1")
    dead = store.root / "tmp" / "4194303-abc"
    dead.mkdir()
    (dead / "blob.partial").write_bytes(b"half")
    mine = store.root / "tmp" / f"{os.getpid()}-live"
    mine.mkdir()
    _add(store, module, "x/f:v2")
    assert not dead.exists()
    assert mine.exists()


def test_layout_choice_is_recorded(store: LocalStore, module: Path) -> None:
    record = _add(store, module, "x/f:v1", layout="wasme")
    assert record.layout == "wasme"  # type: ignore[attr-defined]
    assert store.resolve("x/f:v1").root_ids == ("r",)


def test_a_digest_is_not_a_tag(store: LocalStore, module: Path) -> None:
    with pytest.raises(UsageError, match="digest"):
        _add(store, module, "x/f@sha256:" + "a" * 64)
