"""Benchmark: the same suites on Envoy and in the emulator, side by side.

For each suite of the conformance corpus (tests/fixtures/wat/*.tests.yaml and the
examples' projects) both engines run the whole suite; runs alternate so machine noise
hits both. A suite run is what ``wasmkit test`` pays: for Envoy the start,
requests and stop; for the emulator compiling (cached after the first run in a
process, "cold" is the first), starting the VMs and the requests. Each round is one
Envoy run followed by ``--repeat`` emulator runs (the emulator is fast enough that one
sample is all noise). Printed: per suite the median wall time of each engine and the
ratio envoy/emulator, and per case the median time of one request on each side.
Targets: emulator >= 20x faster per suite, < 5 ms per case.

    python bench/engines.py [--runs 5] [--repeat 5] [--only add_header] [--project DIR ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wasmkit.tasks.test import resolve_inputs  # noqa: E402
from wasmkit.testing import EnvoyEngine  # noqa: E402
from wasmkit.testing.api import TestInputs  # noqa: E402
from wasmkit.testing.emulator_engine import EmulatorEngine  # noqa: E402
from wasmkit.testing.engine import Engine  # noqa: E402
from wasmkit.testing.plan import TestPlan, make_plan  # noqa: E402
from wasmkit.testing.runner import inspect_for_test  # noqa: E402

WAT = REPO / "tests" / "fixtures" / "wat"


def suites(only: str | None, projects: list[Path]) -> list[tuple[str, TestInputs]]:
    found = [
        (
            s.name.removesuffix(".tests.yaml"),
            resolve_inputs(
                # <name>.tests.yaml or <name>.<variant>.tests.yaml: a suite of <name>.wat
                module=s.with_name(s.name.split(".")[0] + ".wat"),
                test_file=s,
            ),
        )
        for s in sorted(WAT.glob("*.tests.yaml"))
    ]
    found += [
        (f"example/{p.parent.name}", resolve_inputs(project_dir=p.parent))
        for p in sorted((REPO / "examples").glob("*/wasmkit.yaml"))
    ]
    found += [(f"project/{p.name}", resolve_inputs(project_dir=p)) for p in projects]
    return [(name, inputs) for name, inputs in found if not only or only in name]


def plan_for(inputs: TestInputs) -> TestPlan:
    info, _ = inspect_for_test(inputs.module_path)
    return make_plan(
        inputs.suite,
        inputs.module_path,
        info,
        filter_name=inputs.filter_name,
        root_id=inputs.root_id,
        config=inputs.config,
    )


@dataclass
class Timings:
    suite_ms: list[float] = field(default_factory=list)
    case_ms: list[list[float]] = field(default_factory=list)

    def add(self, engine: Engine, plan: TestPlan) -> None:
        started = time.perf_counter()
        run = engine.run(plan)
        self.suite_ms.append((time.perf_counter() - started) * 1000)
        if not self.case_ms:
            self.case_ms = [[] for _ in run.observed]
        for times, observed in zip(self.case_ms, run.observed, strict=True):
            times.append(observed.duration_ms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5, help="emulator runs per round")
    parser.add_argument("--only", help="only suites whose name contains this")
    parser.add_argument(
        "--project",
        type=Path,
        action="append",
        default=[],
        help="also a built project (wasmkit.yaml with tests), e.g. a scaffold; repeatable",
    )
    args = parser.parse_args()
    envoy, emulator = EnvoyEngine(), EmulatorEngine()
    totals: dict[str, list[float]] = {"envoy": [], "emulator": []}
    worst_ratio, worst_case = float("inf"), 0.0
    print(f"{args.runs} rounds per suite (1 Envoy run + {args.repeat} emulator runs); medians\n")
    for name, inputs in suites(args.only, args.project):
        plan = plan_for(inputs)
        cold_started = time.perf_counter()
        emulator.run(plan)  # the first run in this process compiles the module
        cold_ms = (time.perf_counter() - cold_started) * 1000
        on_envoy, on_emulator = Timings(), Timings()
        for _ in range(args.runs):
            on_envoy.add(envoy, plan)
            for _ in range(args.repeat):
                on_emulator.add(emulator, plan)
        e_ms, m_ms = statistics.median(on_envoy.suite_ms), statistics.median(on_emulator.suite_ms)
        ratio = e_ms / m_ms
        worst_ratio = min(worst_ratio, ratio)
        totals["envoy"].append(e_ms)
        totals["emulator"].append(m_ms)
        print(f"suite {name}: {len(plan.cases)} cases, {len(plan.variants)} variant(s)")
        print(f"  {'':48} {'envoy':>10} {'emulator':>10} {'ratio':>7}")
        print(
            f"  {'whole suite (ms)':48} {e_ms:10.1f} {m_ms:10.2f} {ratio:6.0f}x"
            f"   (emulator cold: {cold_ms:.1f} ms)"
        )
        for planned, e_case, m_case in zip(
            plan.cases, on_envoy.case_ms, on_emulator.case_ms, strict=True
        ):
            e, m = statistics.median(e_case), statistics.median(m_case)
            worst_case = max(worst_case, m)
            label = (
                planned.case.name
                if len(planned.case.name) <= 46
                else planned.case.name[:43] + "..."
            )
            print(f"  {label:48} {e:10.2f} {m:10.2f} {e / m if m else 0:6.0f}x")
        print()
    e_all, m_all = sum(totals["envoy"]), sum(totals["emulator"])
    print(f"all suites: envoy {e_all:.0f} ms, emulator {m_all:.1f} ms, ratio {e_all / m_all:.0f}x")
    print(
        f"slowest suite ratio {worst_ratio:.0f}x (target >= 20x); "
        f"slowest emulator case {worst_case:.2f} ms (target < 5 ms)"
    )
    ok = worst_ratio >= 20 and worst_case < 5
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
