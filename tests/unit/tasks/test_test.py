"""wasmkit.tasks.test: what `wasmkit test` resolves before any engine starts (no process)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO
from wasmkit.errors import UsageError
from wasmkit.tasks.test import TestRequest, prepare, resolve_inputs

EXAMPLE = REPO / "examples" / "add-header"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "add-header"
    shutil.copytree(EXAMPLE, target)
    return target


def test_the_project_supplies_defaults_and_flags_override_them(project: Path) -> None:
    inputs = resolve_inputs(project_dir=project)
    assert (inputs.filter_name, inputs.root_id, inputs.config) == (
        "add-header",
        "add_header",
        "world",
    )
    assert inputs.source_path == project.resolve() / "filter.wat"
    assert inputs.module_path.suffix == ".wasm"  # the .wat compiled once, cached
    assert inputs.platform_envoy is None  # the example names no platform
    flags = resolve_inputs(project_dir=project, root_id="other", config="mars")
    assert (flags.root_id, flags.config) == ("other", "mars")


def test_a_module_without_a_test_file_outside_a_project_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="give both --module and --file"):
        prepare(TestRequest(module=tmp_path / "f.wasm"))


def test_envoy_choices_that_cannot_both_hold_are_refused(project: Path) -> None:
    with pytest.raises(UsageError, match="needs a project whose platform names an Envoy"):
        prepare(TestRequest(project_dir=project, envoy_version="platform"))
    with pytest.raises(UsageError, match="give --envoy or --envoy-version, not both"):
        prepare(TestRequest(project_dir=project, envoy_version="1.36", envoy_path="/bin/envoy"))


def test_a_project_without_tests_says_how_to_add_them(project: Path) -> None:
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().split("tests:")[0])
    with pytest.raises(UsageError, match="has no tests") as raised:
        resolve_inputs(project_dir=project)
    assert raised.value.hint is not None and "--file" in raised.value.hint
