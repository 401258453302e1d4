"""Compiled modules are kept on disk: a second process loads them instead of compiling."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from tests.conftest import FIXTURES
from wasmkit.emulator import _wasm
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
