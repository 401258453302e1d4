"""WebAssembly text (.wat) as a module file: compiled once with wasmtime, cached by content.

Test fixtures and examples can then be hand-written filters that need no toolchain; every
command that takes ``--module`` accepts a .wat.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from wasmkit._atomic import write_atomic
from wasmkit.errors import ModuleError, WasmCompileError
from wasmkit.module import cache_dir


def module_file(path: Path) -> Path:
    """A .wasm path for ``path``: WebAssembly text (.wat) is compiled once and cached."""
    if path.suffix != ".wat":
        return path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModuleError(f"module {path} does not exist") from None
    digest = hashlib.sha256(text.encode()).hexdigest()
    target = cache_dir() / "wat" / f"{digest}.wasm"
    if target.is_file():
        return target
    from wasmkit.emulator._wasm import wat_to_wasm

    try:
        data = wat_to_wasm(text)
    except WasmCompileError as exc:
        raise ModuleError(
            f"{path} is not valid WebAssembly text",
            details=str(exc),
            hint="fix the .wat file (wasmtime's message above points at the line)",
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)
    return target
