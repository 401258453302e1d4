"""Run a plan on one or more engines and judge every case.

The runner never prints: it returns a :class:`SuiteResult`, and
:mod:`wasmkit.testing.report` turns that into text, JUnit XML or JSON.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wasmkit.errors import ModuleError, ModuleLoadError
from wasmkit.loadcheck import Problem, load_problems
from wasmkit.module import ModuleInfo, inspect_bytes, read_module
from wasmkit.testing.assertions import Mismatch, check
from wasmkit.testing.compare import Comparison, Outcome, compare_engines
from wasmkit.testing.engine import Engine, EngineRun, Observed
from wasmkit.testing.plan import PlannedCase, TestPlan, emulator_only

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CaseResult:
    name: str
    index: int
    engine: str
    mismatches: tuple[Mismatch, ...]
    observed: Observed | None
    skipped: str | None = None

    @property
    def passed(self) -> bool:
        return self.skipped is None and not self.mismatches


@dataclass(frozen=True)
class SuiteResult:
    module_path: Path
    module: ModuleInfo | None
    runs: tuple[EngineRun, ...]
    cases: tuple[CaseResult, ...]
    duration_ms: float
    #: The proxy's own words when the module did not load (every case then failed).
    load_error: str | None = None
    analysis: tuple[Problem, ...] = field(default=())
    #: With two engines (``--engine both``): each case's outcomes side by side.
    comparisons: tuple[Comparison, ...] = field(default=())

    @property
    def diverged(self) -> int:
        return sum(1 for c in self.comparisons if c.diverged)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def failed(self) -> int:
        return sum(1 for c in self.cases if c.skipped is None and c.mismatches)

    @property
    def skipped(self) -> int:
        return sum(1 for c in self.cases if c.skipped is not None)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.load_error is None and self.diverged == 0


def inspect_for_test(module_path: Path) -> tuple[ModuleInfo | None, tuple[Problem, ...]]:
    """Inspect the module and predict load problems.

    A module wasmtime cannot parse is still handed to the proxy, so that the
    report quotes the proxy's own reason; only a missing or oversized file stops here.
    """
    data = read_module(module_path)
    try:
        info = inspect_bytes(data, module_path)
    except ModuleError as exc:
        return None, (Problem("invalid", exc.message),)
    return info, tuple(load_problems(info))


NOT_COMPARABLE_HTTP_CALLS = (
    "canned answers to HTTP calls (httpCalls) that only the emulator gives (no cluster, a "
    "timeout, or a cluster the suite does not declare)"
)
NOT_COMPARABLE_PROPERTIES = "property values (properties) that only the emulator gives"


def unobservable(
    pc: PlannedCase, engine: str, observed: Observed, plan: TestPlan | None = None
) -> list[str]:
    """The parts of a case this engine cannot run or check (what only the emulator gives:
    plan.emulator_only; logs and metrics where the engine left them None)."""
    expect = pc.case.expect
    return [
        part
        for part, missing in (
            *(
                (key, engine != "emulator")
                for key in (emulator_only(plan, pc) if plan is not None else ())
            ),
            ("expect.logs", expect.logs is not None and observed.logs is None),
            ("expect.metrics", expect.metrics is not None and observed.metrics is None),
        )
        if missing
    ]


def _not_comparable(keys: tuple[str, ...]) -> str | None:
    notes = {"httpCalls": NOT_COMPARABLE_HTTP_CALLS, "properties": NOT_COMPARABLE_PROPERTIES}
    return "; ".join(notes[key] for key in keys) or None


def judge(
    pc: PlannedCase, engine: str, observed: Observed, plan: TestPlan | None = None
) -> CaseResult:
    """Check one observation; a case that needs what this engine cannot see is skipped."""
    only = unobservable(pc, engine, observed, plan)
    if only:
        note = f"emulator-only ({', '.join(only)}); run it with --engine emulator"
        return CaseResult(pc.case.name, pc.index, engine, (), observed, skipped=note)
    mismatches = tuple(check(pc.case.expect, observed))
    return CaseResult(pc.case.name, pc.index, engine, mismatches, observed)


def run_plan(
    plan: TestPlan, engines: Sequence[Engine], analysis: Sequence[Problem] = ()
) -> SuiteResult:
    started = time.perf_counter()
    runs: list[EngineRun] = []
    results: list[CaseResult] = []
    load_error: str | None = None
    outcomes: dict[str, list[Outcome]] = {}
    for engine in engines:
        try:
            run = engine.run(plan)
        except ModuleLoadError as exc:
            refused_case = Observed(status=None, load_error=exc.reason)
            if any(pc.case.expect.load_error is None for pc in plan.cases):
                load_error = exc.reason
            results += [judge(pc, engine.name, refused_case, plan) for pc in plan.cases]
            refused = Outcome(engine.name, load_error=exc.reason)
            outcomes[engine.name] = [refused for _ in plan.cases]
            continue
        if analysis:
            log.warning(
                "wasmkit's module check predicted a load failure that %s did not report: %s",
                run.description,
                "; ".join(p.message for p in analysis),
            )
        runs.append(run)
        outcomes[engine.name] = [Outcome(engine.name, observed=o) for o in run.observed]
        for pc, observed in zip(plan.cases, run.observed, strict=True):
            results.append(judge(pc, engine.name, observed, plan))
    comparisons = compare_engines(
        [(pc.index, pc.case.name) for pc in plan.cases],
        outcomes,
        # What only the emulator gives: nothing to compare.
        skip=[_not_comparable(emulator_only(plan, pc)) for pc in plan.cases],
    )
    return SuiteResult(
        module_path=plan.display_path,
        module=plan.module,
        runs=tuple(runs),
        cases=tuple(results),
        duration_ms=(time.perf_counter() - started) * 1000,
        load_error=load_error,
        analysis=tuple(analysis),
        comparisons=comparisons,
    )
