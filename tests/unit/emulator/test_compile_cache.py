"""Compiled modules are kept on disk: a second process loads them instead of compiling.

An entry runs as machine code once loaded, so anything not ours and intact is compiled again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
import wasmtime

from tests.conftest import FIXTURES
from wasmkit.emulator import _compiled, _wasm
from wasmkit.errors import WasmCompileError


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(_wasm, "_MODULES", {})
    return tmp_path / "wasmkit" / "emulator"


def _data() -> bytes:
    return bytes(wasmtime.wat2wasm((FIXTURES / "wat" / "add_header.wat").read_text()))


def test_a_compiled_module_is_stored_and_loaded_back(fresh_cache: Path) -> None:
    first = _wasm.compile_module(_data())
    (stored,) = fresh_cache.glob("*.cwasm")
    _wasm._MODULES.clear()
    second = _wasm.compile_module(_data())
    assert second is not first
    assert [e.name for e in second.exports] == [e.name for e in first.exports]
    assert list(fresh_cache.glob("*.cwasm")) == [stored]


def test_a_damaged_cache_entry_is_compiled_again(fresh_cache: Path) -> None:
    _wasm.compile_module(_data())
    (stored,) = fresh_cache.glob("*.cwasm")
    stored.write_bytes(b"not a compiled module")
    _wasm._MODULES.clear()
    module = _wasm.compile_module(_data())
    assert "proxy_on_request_headers" in [e.name for e in module.exports]
    assert stored.read_bytes() != b"not a compiled module"


def test_invalid_bytes_are_a_compile_error(fresh_cache: Path) -> None:
    with pytest.raises(WasmCompileError):
        _wasm.compile_module(b"\0asm\x01\0\0\0\x01")
    assert not list(fresh_cache.glob("*.cwasm"))


def _recompiled(fresh_cache: Path, damage: object) -> tuple[bytes, bytes]:
    """Store an entry, damage it with ``damage(path)``, load again: (damaged, after) bytes."""
    _wasm.compile_module(_data())
    (stored,) = fresh_cache.glob("*.cwasm")
    damage(stored)  # type: ignore[operator]
    damaged = stored.read_bytes() if stored.exists() else b""
    _wasm._MODULES.clear()
    module = _wasm.compile_module(_data())
    assert "proxy_on_request_headers" in [e.name for e in module.exports]
    return damaged, stored.read_bytes()


def test_a_flipped_payload_byte_is_refused_and_rebuilt(fresh_cache: Path) -> None:
    def flip(path: Path) -> None:
        data = bytearray(path.read_bytes())
        data[-100] ^= 0xFF  # inside the machine code, past every header
        path.write_bytes(bytes(data))

    damaged, after = _recompiled(fresh_cache, flip)
    assert after != damaged
    key = after.split(b"\n")[1].decode()
    assert _compiled.load(key) is not None  # the rebuilt entry is intact again


def test_a_truncated_entry_is_refused(fresh_cache: Path) -> None:
    damaged, after = _recompiled(fresh_cache, lambda p: p.write_bytes(p.read_bytes()[:-1]))
    assert len(after) == len(damaged) + 1


def test_an_entry_under_another_key_is_refused(fresh_cache: Path) -> None:
    """A file copied or renamed from another module's (or engine's) entry is not this one."""
    other = bytes(wasmtime.wat2wasm((FIXTURES / "wat" / "bodies.wat").read_text()))
    _wasm.compile_module(other)
    (foreign,) = fresh_cache.glob("*.cwasm")
    key = f"{hashlib.sha256(_data()).hexdigest()}-{_wasm._engine_tag()}"
    _compiled.entry_path(key).write_bytes(foreign.read_bytes())
    assert _compiled.load(key) is None
    _wasm._MODULES.clear()
    module = _wasm.compile_module(_data())
    assert "proxy_on_request_headers" in [e.name for e in module.exports]
    assert _compiled.load(key) is not None


def test_an_entry_others_may_write_is_not_loaded(fresh_cache: Path) -> None:
    _wasm.compile_module(_data())
    (stored,) = fresh_cache.glob("*.cwasm")
    key = stored.name.removesuffix(".cwasm")
    assert _compiled.load(key) is not None
    os.chmod(stored, 0o666)
    assert _compiled.load(key) is None
    os.chmod(stored, 0o600)
    link = fresh_cache / "link.cwasm"
    link.symlink_to(stored)
    assert _compiled.load("link") is None


def test_the_cache_is_private(fresh_cache: Path) -> None:
    _wasm.compile_module(_data())
    (stored,) = fresh_cache.glob("*.cwasm")
    assert stored.stat().st_mode & 0o077 == 0
    assert fresh_cache.stat().st_mode & 0o077 == 0


def test_the_key_names_the_engine(fresh_cache: Path) -> None:
    _wasm.compile_module(_data())
    (stored,) = fresh_cache.glob("*.cwasm")
    digest, tag = stored.name.removesuffix(".cwasm").split("-")
    assert digest == hashlib.sha256(_data()).hexdigest()
    assert tag == _wasm._engine_tag()
