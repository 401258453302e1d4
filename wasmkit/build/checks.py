"""Check a built module before anyone deploys it: ABI, imports, root id.

The first two are static, asked of :mod:`wasmkit.loadcheck` for the project's platform row:
the ABI the module exports must be one that row's proxy speaks, and every import a function
that proxy links. The root id can only be checked by running the module's start-up code
(create root context -> vm_start -> configure), two ways:

- ``emulator`` (default): wasmkit's in-process proxy-wasm host, ~0.1 s, and it keeps the
  guest's own log lines ("Missing root context factory for root id: X" from AssemblyScript);
- ``envoy``: the real Envoy in ``--mode validate`` (no port opened), ~0.5 s with start-up.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from wasmkit.abi import AbiVersion, PlatformRelease
from wasmkit.errors import EmulatorGap, ModuleError, ModuleLoadError, ToolNotFound, UsageError
from wasmkit.loadcheck import require_loadable
from wasmkit.module import ModuleInfo, inspect_file

log = logging.getLogger(__name__)


def check_static(module: Path, platform: PlatformRelease) -> ModuleInfo:
    """ABI and imports; ModuleError (exit 2) naming each problem."""
    info = inspect_file(module)
    require_loadable(info, platform)
    return info


def check_root_id(
    module: Path, *, root_id: str, configuration: str, envoy: str | None = None
) -> str:
    """Load the module in Envoy's validate mode; return a note, raise ModuleError if refused."""
    from wasmkit.envoy import Listener, find_envoy, render_bootstrap, validate_config
    from wasmkit.filter import FilterSpec, LocalCode, envoy_wasm_filter

    try:
        binary = find_envoy(envoy)
    except ToolNotFound as exc:
        log.warning("root id not checked: %s", exc)
        return f"root id not checked ({exc})"
    spec = FilterSpec(
        name="build-check",
        root_id=root_id,
        code=LocalCode(str(module.resolve())),
        configuration=configuration,
    )
    with tempfile.TemporaryDirectory(prefix="wasmkit-validate-") as tmp:
        run_dir = Path(tmp)
        config = run_dir / "envoy.yaml"
        config.write_text(
            render_bootstrap(
                [Listener("build-check", envoy_wasm_filter(spec))],
                upstream_port=9,  # validate mode opens no port and sends nothing
                access_log=str(run_dir / "access.log"),
                purpose="validate",
            )
        )
        try:
            validate_config(binary, config, run_dir)
        except ModuleLoadError as exc:
            raise ModuleError(
                f"Envoy refused {module.name} with root id {root_id!r}: {exc.reason}",
                hint="the root id the code registers must equal `rootId` in wasmkit.yaml "
                "(and the plugin configuration must be one the filter accepts)",
                details=exc.details,
            ) from None
    return f"root id {root_id!r} registered (checked in Envoy {binary.version})"


ROOT_CHECKS = ("emulator", "envoy", "none")
_MISSING_IMPORT = "Failed to load Wasm module due to a missing import"


def check_root_id_emulated(module: Path, *, root_id: str, configuration: str) -> str:
    """Start the module in the in-process host as Envoy would; ModuleError if it refuses."""
    from wasmkit.emulator import World, load_filter

    world = World(log_level="warn")
    try:
        load_filter(module, root_id=root_id, configuration=configuration, world=world)
    except ModuleLoadError as exc:
        if exc.reason.startswith(_MISSING_IMPORT):
            # The static check found every import in Envoy's table, so the emulator lacks one
            # Envoy has (e.g. proxy_get_configuration for ABI 0.1.0): let Envoy decide.
            raise EmulatorGap(exc.reason) from None
        said = "\n".join(f"  {line.level}: {line.message}" for line in world.logs)
        raise ModuleError(
            f"{module.name} does not start with root id {root_id!r}: {exc.reason}"
            + (f"; the module logged:\n{said}" if said else ""),
            hint="the root id the code registers must equal `rootId` in wasmkit.yaml "
            "(and the plugin configuration must be one the filter accepts)",
            details=exc.details,
        ) from None
    return f"root id {root_id!r} registered (started in the emulator)"


def check_root(
    module: Path, how: str, *, root_id: str, configuration: str, envoy: str | None = None
) -> str | None:
    """The root id check chosen by ``how`` (one of :data:`ROOT_CHECKS`); a note or None."""
    if how == "none":
        return None
    if how == "envoy":
        return check_root_id(module, root_id=root_id, configuration=configuration, envoy=envoy)
    if how == "emulator":
        try:
            return check_root_id_emulated(module, root_id=root_id, configuration=configuration)
        except EmulatorGap as gap:
            log.info("the emulator cannot run this module (%s); asking Envoy", gap)
            return check_root_id(module, root_id=root_id, configuration=configuration, envoy=envoy)
    raise UsageError(f"unknown root id check {how!r}", hint=f"use one of: {', '.join(ROOT_CHECKS)}")


def check_declared_abi(info: ModuleInfo, abi: AbiVersion) -> None:
    """For --precompiled: the module must export the ABI the user declared."""
    if abi not in info.abi_versions:
        have = ", ".join(v.value for v in info.abi_versions) or "none"
        raise ModuleError(
            f"{info.path} does not export ABI {abi.value} (it exports: {have})",
            hint=f"pass --abi {info.abi_versions[0].value}"
            if info.abi_versions
            else "build it with a proxy-wasm SDK",
        )
