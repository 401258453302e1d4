"""Inspect a .wasm file before any proxy sees it.

Envoy refuses a bad module at load time with a terse log line; this module says
the same thing earlier and better: which ABI marker is exported, whether an
allocator is there, and which imports the host does not provide (or provides
with another signature, see :mod:`wasmkit.host`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from wasmkit._atomic import write_atomic
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
    "Problem",
    "Signature",
    "cache_dir",
    "check_module",
    "host_problems",
    "inspect_bytes",
    "inspect_file",
    "load_bytes",
    "module_file",
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


@dataclass(frozen=True)
class Problem:
    """One reason a host would refuse the module."""

    code: str  # bad-abi, no-abi, no-memory, no-allocator, missing-import, bad-signature
    message: str


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


def host_problems(
    info: ModuleInfo,
    *,
    accepted_abis: Iterable[AbiVersion] = tuple(AbiVersion),
    host: Mapping[str, Mapping[str, Signature]] = HOST_MODULES,
    host_name: str = "Envoy",
) -> list[Problem]:
    """Every reason ``host`` would refuse this module, in the order Envoy checks them."""
    problems: list[Problem] = []
    accepted = set(accepted_abis)
    if not info.abi_versions:
        extra = (
            f" (unknown marker {', '.join(info.unknown_abi_markers)})"
            if info.unknown_abi_markers
            else ""
        )
        problems.append(
            Problem("no-abi", f"the module exports no proxy_abi_version_* marker{extra}")
        )
    elif not accepted.intersection(info.abi_versions):
        have = ", ".join(v.value for v in info.abi_versions)
        want = ", ".join(sorted(v.value for v in accepted))
        problems.append(
            Problem("bad-abi", f"the module speaks ABI {have}; {host_name} here accepts {want}")
        )
    if not info.has_memory:
        problems.append(Problem("no-memory", "the module exports no memory named 'memory'"))
    if info.allocator is None:
        problems.append(
            Problem(
                "no-allocator", "the module exports neither malloc nor proxy_on_memory_allocate"
            )
        )
    for imp in info.imports:
        provided = host.get(imp.module, {})
        expected = provided.get(imp.name)
        if imp.kind != "func" or expected is None:
            problems.append(
                Problem(
                    "missing-import",
                    f"import {imp.qualified} is not provided by {host_name}",
                )
            )
        elif imp.signature != expected:
            problems.append(
                Problem(
                    "bad-signature",
                    f"import {imp.qualified} has signature {imp.signature}; "
                    f"{host_name} provides {expected}",
                )
            )
    return problems


def check_module(info: ModuleInfo, **kwargs: object) -> None:
    """Raise ModuleError listing every problem :func:`host_problems` finds."""
    problems = host_problems(info, **kwargs)  # type: ignore[arg-type]
    if problems:
        lines = "\n".join(f"  - {p.message}" for p in problems)
        raise ModuleError(
            f"{info.path or 'the module'} would not load in Envoy:\n{lines}",
            hint=_hint_for(problems[0].code),
        )


def _hint_for(code: str) -> str:
    return {
        "no-abi": "build with a proxy-wasm SDK; it exports the ABI marker for you",
        "bad-abi": "rebuild with an SDK that targets the platform's ABI (see wasmkit platforms)",
        "no-memory": "the module must export its linear memory as 'memory'",
        "no-allocator": "export malloc (C/C++: link wasi-libc; AssemblyScript: the runtime does)",
        "missing-import": "remove the call, or use what the host provides (AssemblyScript: "
        "build with --use abort=abort_proc_exit instead of importing env.abort)",
        "bad-signature": "the SDK and the host disagree on a function: update the SDK",
    }.get(code, "see the proxy-wasm ABI spec")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wasmkit"


def module_file(path: Path) -> Path:
    """A .wasm path for ``path``: WebAssembly text (.wat) is compiled once and cached.

    Test fixtures and examples can then be hand-written filters that need no toolchain.
    """
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
    import wasmtime  # only WebAssembly text needs it; keeps inspection import-light

    try:
        data = wasmtime.wat2wasm(text)
    except wasmtime.WasmtimeError as exc:
        raise ModuleError(
            f"{path} is not valid WebAssembly text",
            details=str(exc).strip(),
            hint="fix the .wat file (wasmtime's message above points at the line)",
        ) from None
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, bytes(data))
    return target
