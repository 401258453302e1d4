"""Shared fixtures: paths to the fixture tree and WAT filters compiled on demand."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


def compile_wat(name: str, directory: Path) -> Path:
    """Compile tests/fixtures/wat/<name>.wat to directory/<name>.wasm."""
    out = directory / f"{name}.wasm"
    out.write_bytes(wasmtime.wat2wasm((FIXTURES / "wat" / f"{name}.wat").read_text()))
    return out


@pytest.fixture
def wat(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``wat("add_header")`` -> path of the compiled module."""
    return lambda name: compile_wat(name, tmp_path)
