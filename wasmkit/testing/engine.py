"""What an engine (real Envoy, the in-process emulator) returns for each case.

Engines only run requests and record what happened; :mod:`assertions` decides
whether that is what the case expected, the same way for every engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from wasmkit.testing.plan import TestPlan

Headers = tuple[tuple[str, str], ...]


def header_values(headers: Headers, name: str) -> list[str]:
    name = name.lower()
    return [v for k, v in headers if k == name]


@dataclass(frozen=True)
class UpstreamRecord:
    """What the upstream received."""

    method: str
    path: str
    headers: Headers
    body: bytes


@dataclass(frozen=True)
class LogRecord:
    level: str  # trace debug info warn error critical
    message: str


@dataclass(frozen=True)
class Observed:
    """What a client (and the upstream) saw for one case."""

    status: int | None
    headers: Headers = ()
    body: bytes = b""
    upstream: UpstreamRecord | None = None
    #: Set when no HTTP response came back at all (connection reset, timeout).
    error: str | None = None
    #: Envoy's response code details where known (e.g. ``wasm_fail_stream``).
    details: str | None = None
    #: Only engines that can see them fill these (None: not observable).
    logs: tuple[LogRecord, ...] | None = None
    metrics: Mapping[str, int] | None = None
    duration_ms: float = 0.0
    #: Whether the upstream saw the request is a race in Envoy here (the filter answered after
    #: the router had the request headers); engines compare it only where it is determined.
    upstream_race: bool = False
    #: The proxy refused the module or this case's configuration (its words); nothing ran.
    load_error: str | None = None


@dataclass(frozen=True)
class EngineRun:
    engine: str  # "envoy" or "emulator"
    description: str  # "Envoy 1.40.0 (V8)"
    observed: tuple[Observed, ...]
    duration_ms: float
    artifacts: str | None = None
    notes: tuple[str, ...] = field(default=())
    #: What the filter logged during the whole run, when the engine can only see it per run.
    filter_log: tuple[LogRecord, ...] = field(default=())


class Engine(Protocol):
    name: str

    def run(self, plan: TestPlan) -> EngineRun:
        """Run every planned case in order; raise ModuleLoadError if the module cannot load."""
        ...
