"""Plan, run and judge a module's suite (``wasmkit.tasks.test`` finds them in a project)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wasmkit._validation import ConfigValue
from wasmkit.testing.engine import Engine
from wasmkit.testing.plan import make_plan
from wasmkit.testing.runner import SuiteResult, inspect_for_test, run_plan
from wasmkit.testspec import Suite


@dataclass(frozen=True)
class TestInputs:
    """What to test: a module and a suite, resolved from a project or given directly."""

    __test__ = False

    module_path: Path
    suite: Suite
    filter_name: str
    root_id: str | None
    config: ConfigValue | None
    source_path: Path | None = None
    #: The Envoy release of the project's platform ("1.36" for Istio 1.28), when it has one.
    platform_envoy: str | None = None


def run_tests(
    inputs: TestInputs, engines: Sequence[Engine], select: str | None = None
) -> SuiteResult:
    info, analysis = inspect_for_test(inputs.module_path)
    plan = make_plan(
        inputs.suite,
        inputs.module_path,
        info,
        filter_name=inputs.filter_name,
        root_id=inputs.root_id,
        config=inputs.config,
        select=select,
        source_path=inputs.source_path,
    )
    return run_plan(plan, engines, analysis)
