"""The one call behind ``wasmkit test``: resolve inputs, plan, run, judge."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wasmkit._validation import load_model
from wasmkit.abi import find_platform
from wasmkit.errors import UsageError
from wasmkit.filter import filter_name_for
from wasmkit.module import module_file
from wasmkit.project import Platform, load_project
from wasmkit.testing.engine import Engine
from wasmkit.testing.plan import make_plan
from wasmkit.testing.runner import SuiteResult, inspect_for_test, run_plan
from wasmkit.testing.spec import ConfigValue, Suite

SUITE_HINT = "see `wasmkit test --help` and the README for the test file format"


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


def resolve_inputs(
    *,
    project_dir: Path | None = None,
    module: Path | None = None,
    test_file: Path | None = None,
    root_id: str | None = None,
    config: ConfigValue | None = None,
) -> TestInputs:
    """A project's wasmkit.yaml supplies defaults; flags override them."""
    if project_dir is not None or module is None or test_file is None:
        loaded = load_project(project_dir or Path.cwd())
        project = loaded.project
        suite = load_model(test_file, Suite, hint=SUITE_HINT) if test_file else project.tests
        if suite is None:
            raise UsageError(
                f"{loaded.root / 'wasmkit.yaml'} has no tests",
                hint="add a `tests:` suite to wasmkit.yaml, or pass --file TESTS.yaml",
            )
        return TestInputs(
            module_path=module_file(module or loaded.module_path),
            source_path=module or loaded.module_path,
            platform_envoy=_platform_envoy(project.platform),
            suite=suite,
            filter_name=project.name,
            root_id=root_id if root_id is not None else (suite.root_id or project.root_id),
            config=config
            if config is not None
            else (suite.config if suite.config is not None else project.config),
        )
    suite = load_model(test_file, Suite, hint=SUITE_HINT)
    return TestInputs(module_file(module), suite, filter_name_for(module), root_id, config, module)


def _platform_envoy(platform: Platform | None) -> str | None:
    if platform is None:
        return None
    envoy = find_platform(platform.name, platform.version).envoy
    match = re.match(r"^\d+\.\d+$", envoy)  # not "1.14-dev (envoy-wasm fork)" nor "1.39+"
    return envoy if match else None


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
