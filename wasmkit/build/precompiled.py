"""``wasmkit build --precompiled FILE.wasm --root-id ID --abi V``: adopt a module built elsewhere.

The module goes through the same checks as one wasmkit built (ABI, imports, root id) and
ends up in the same place (``build/filter.wasm`` + ``build/runtime-config.json``), so
``wasmkit test``, ``-t`` and deploys treat it like any other.
"""

from __future__ import annotations

from pathlib import Path

from wasmkit._atomic import copy_atomic
from wasmkit.abi import AbiVersion, PlatformRelease, find_platform
from wasmkit.build.checks import check_declared_abi, check_root, check_static
from wasmkit.build.core import (
    DEFAULT_PLATFORM,
    MODULE_NAME,
    OUT_DIR,
    RUNTIME_CONFIG,
    BuildResult,
    store_module,
    write_runtime_config,
)
from wasmkit.errors import UsageError
from wasmkit.module import load_bytes


def parse_abi(value: str) -> AbiVersion:
    cleaned = value.strip().lstrip("v").replace("_", ".")
    try:
        return AbiVersion(cleaned)
    except ValueError:
        raise UsageError(
            f"unknown proxy-wasm ABI {value!r}",
            hint=f"use one of: {', '.join(a.value for a in AbiVersion)}",
        ) from None


def _platform_row(platform: str | None, version: str | None) -> PlatformRelease:
    if not platform and not version:
        return find_platform(*DEFAULT_PLATFORM)
    if not (platform and version):
        raise UsageError("give both --platform and --platform-version")
    return find_platform(platform, version)


def import_precompiled(
    module: Path,
    *,
    root_id: str | None,
    abi: str | None,
    out_dir: Path,
    platform: str | None = None,
    platform_version: str | None = None,
    configuration: str = "",
    tag: str | None = None,
    root_check: str = "emulator",
    envoy: str | None = None,
) -> BuildResult:
    """Copy ``module`` to ``out_dir/filter.wasm`` after checking it for ``platform`` at
    ``platform_version`` (both or neither; neither: the Envoy wasmkit tests with); write its
    runtime config."""
    import time

    started = time.monotonic()
    if not root_id or not abi:
        raise UsageError(
            "--precompiled needs --root-id and --abi",
            hint="wasmkit build --precompiled filter.wasm --root-id add_header --abi 0.2.1",
        )
    version = parse_abi(abi)
    row = _platform_row(platform, platform_version)
    load_bytes(module)  # exists, not too big, starts with \0asm
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / MODULE_NAME
    if module.resolve() != target.resolve():
        copy_atomic(module, target)
    info = check_static(target, row)
    check_declared_abi(info, version)
    notes = [f"imported {module}"]
    note = check_root(target, root_check, root_id=root_id, configuration=configuration, envoy=envoy)
    if note:
        notes.append(note)
    runtime_config = out_dir / RUNTIME_CONFIG
    write_runtime_config(runtime_config, root_ids=[root_id], abis=[version])
    image = digest = None
    if tag:
        image, digest, note = store_module(target, tag, root_ids=[root_id], abis=[version])
        notes.append(note)
    return BuildResult(
        module=target,
        runtime_config=runtime_config,
        info=info,
        language="precompiled",
        platform=row,
        abi=version,
        runner="none",
        skipped=False,
        duration_s=time.monotonic() - started,
        notes=tuple(notes),
        image=image,
        image_digest=digest,
    )


__all__ = ["OUT_DIR", "import_precompiled", "parse_abi"]
