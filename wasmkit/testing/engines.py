"""Choose engines by name for ``wasmkit test --engine``."""

from __future__ import annotations

from pathlib import Path

from wasmkit.envoy.binary import find_envoy
from wasmkit.envoy.harness import EarlyStart
from wasmkit.errors import UsageError
from wasmkit.testing.engine import Engine
from wasmkit.testing.envoy_engine import EnvoyEngine

ENGINE_NAMES = ("envoy", "emulator", "both")


def make_engines(
    name: str,
    *,
    envoy: str | None = None,
    artifacts_dir: Path | None = None,
    request_timeout_s: float = 10.0,
    startup_timeout_s: float | None = None,
    early: EarlyStart | None = None,
) -> list[Engine]:
    if name == "emulator":
        return [_emulator()]
    if name in ("envoy", "both"):
        engines: list[Engine] = [
            EnvoyEngine(
                find_envoy(envoy),
                artifacts_dir=artifacts_dir,
                request_timeout_s=request_timeout_s,
                startup_timeout_s=startup_timeout_s,
                early=early,
            )
        ]
        if name == "both":
            engines.append(_emulator())
        return engines
    raise UsageError(f"unknown engine {name!r}", hint="choose one of " + ", ".join(ENGINE_NAMES))


def _emulator() -> Engine:
    # Imported only when asked for: a run on Envoy does not pay for wasmtime.
    from wasmkit.testing.emulator_engine import EmulatorEngine

    return EmulatorEngine()
