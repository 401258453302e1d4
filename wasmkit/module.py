"""Inspect a .wasm file before any proxy sees it.

What a module declares, read without compiling it: which ABI marker it exports,
whether an allocator and a memory are there, its imports and exports with their
signatures. Whether a proxy loads it is :mod:`wasmkit.loadcheck`'s question.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wasmkit._wasmbin import read_interface
from wasmkit.abi import ABI_MARKER_PREFIX, AbiVersion
from wasmkit.errors import ModuleError, WasmFormatError
from wasmkit.host import (
    ALLOCATORS,
    ENV_FUNCTIONS,
    HOST_MODULES,
    WASI_FUNCTIONS,
    Signature,
)

__all__ = [
    "ALLOCATORS",
    "ENV_FUNCTIONS",
    "HOST_MODULES",
    "MAX_MODULE_BYTES",
    "WASI_FUNCTIONS",
    "WASM_MAGIC",
    "Import",
    "ModuleInfo",
    "Signature",
    "cache_dir",
    "inspect_bytes",
    "inspect_file",
    "load_bytes",
    "read_module",
]

WASM_MAGIC = b"\0asm"
#: Refuse absurd inputs before handing them to a compiler (Istio's fetcher has the same limit).
MAX_MODULE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Import:
    module: str
    name: str
    kind: str  # func | memory | table | global
    signature: Signature | None = None

    @property
    def qualified(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(frozen=True)
class ModuleInfo:
    """What a module declares, independent of any host."""

    path: Path | None
    size: int
    sha256: str
    abi_versions: tuple[AbiVersion, ...]
    unknown_abi_markers: tuple[str, ...]
    exports: Mapping[str, str]  # name -> kind
    export_signatures: Mapping[str, Signature]
    imports: tuple[Import, ...]
    has_memory: bool
    allocator: str | None
    start: str | None  # _initialize, _start or None
    callbacks: tuple[str, ...] = field(default=())


def read_module(path: Path) -> bytes:
    """Read a module file within the size limit, whatever its content."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ModuleError(
            f"module {path} does not exist",
            hint="build it first (wasmkit build) or pass the right --module path",
        ) from None
    if size > MAX_MODULE_BYTES:
        raise ModuleError(f"module {path} is {size} bytes, over the 256 MiB limit")
    return path.read_bytes()


def load_bytes(path: Path) -> bytes:
    """Read a module file, refusing what is clearly not one."""
    data = read_module(path)
    if not data.startswith(WASM_MAGIC):
        raise ModuleError(
            f"{path} is not a WebAssembly module (it does not start with \\0asm)",
            hint="pass the compiled .wasm file, not its source or an archive",
        )
    return data


def inspect_bytes(data: bytes, path: Path | None = None) -> ModuleInfo:
    """Parse a module and describe it; raise ModuleError if it does not parse."""
    if not data.startswith(WASM_MAGIC):
        where = str(path) if path else "the data"
        raise ModuleError(f"{where} is not a WebAssembly module (no \\0asm header)")
    try:
        interface = read_interface(data)
    except WasmFormatError as exc:
        raise ModuleError(
            f"{path or 'module'} is not a valid WebAssembly module: {exc}",
            hint="the file is corrupted or was not produced by a wasm compiler",
        ) from None
    exports: dict[str, str] = {}
    signatures: dict[str, Signature] = {}
    for exp in interface.exports:
        exports[exp.name] = exp.kind
        if exp.type is not None:
            signatures[exp.name] = Signature(exp.type.params, exp.type.results)
    imports = tuple(
        Import(
            imp.module,
            imp.name,
            imp.kind,
            Signature(imp.type.params, imp.type.results) if imp.type is not None else None,
        )
        for imp in interface.imports
    )
    versions: list[AbiVersion] = []
    unknown: list[str] = []
    for name in exports:
        if name.startswith(ABI_MARKER_PREFIX):
            version = AbiVersion.from_marker(name)
            if version is None:
                unknown.append(name)
            else:
                versions.append(version)
    allocator = next((a for a in ALLOCATORS if exports.get(a) == "func"), None)
    start = next((s for s in ("_initialize", "_start") if exports.get(s) == "func"), None)
    return ModuleInfo(
        path=path,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        abi_versions=tuple(sorted(versions, key=lambda v: v.value)),
        unknown_abi_markers=tuple(unknown),
        exports=exports,
        export_signatures=signatures,
        imports=imports,
        has_memory=exports.get("memory") == "memory",
        allocator=allocator,
        start=start,
        callbacks=tuple(sorted(n for n in exports if n.startswith("proxy_on_"))),
    )


def inspect_file(path: Path) -> ModuleInfo:
    return inspect_bytes(load_bytes(path), path)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wasmkit"
