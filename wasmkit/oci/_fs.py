"""File-system helpers of the store: liveness of a staging directory's owner."""

from __future__ import annotations

import os
from pathlib import Path

from wasmkit.errors import ModuleError
from wasmkit.oci._digest import MAX_MODULE_BYTES, WASM_MAGIC


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def check_module_file(module: Path) -> int:
    try:
        size = module.stat().st_size
        with module.open("rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise ModuleError(
            f"module {module} does not exist", hint="build it first or fix the path"
        ) from None
    except IsADirectoryError:
        raise ModuleError(f"module {module} is a directory", hint="pass the .wasm file") from None
    if head != WASM_MAGIC:
        raise ModuleError(
            f"{module} is not a WebAssembly module (it does not start with \\0asm)",
            hint="pass the compiled .wasm file, not its source or an archive",
        )
    if size > MAX_MODULE_BYTES:
        raise ModuleError(f"module {module} is {size} bytes, over the 256 MiB limit Istio applies")
    return size
