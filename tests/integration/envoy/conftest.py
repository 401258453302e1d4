"""Helpers for tests that start a real Envoy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wasmkit._validation import validate
from wasmkit.tasks.test import resolve_inputs
from wasmkit.testing import EnvoyEngine, SuiteResult, run_tests
from wasmkit.testspec import Suite

pytestmark = pytest.mark.envoy

RunSuite = Callable[..., SuiteResult]


@pytest.fixture
def run_suite(tmp_path: Path) -> RunSuite:
    """run_suite(module_path, suite_dict, **inputs) -> SuiteResult, through a real Envoy."""

    def run(module: Path, suite: dict[str, Any], keep: bool = False, **kwargs: Any) -> SuiteResult:
        test_file = tmp_path / "tests.yaml"
        validate(Suite, suite, "inline")  # fail early on a bad inline suite
        import yaml

        test_file.write_text(yaml.safe_dump(suite))
        inputs = resolve_inputs(module=module, test_file=test_file, **kwargs)
        engine = EnvoyEngine(artifacts_dir=tmp_path / "artifacts" if keep else None)
        return run_tests(inputs, [engine])

    return run
