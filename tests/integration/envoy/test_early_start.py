"""``wasmkit test --module --file`` starts Envoy from the suite's last layout before the suite
is validated (wasmkit.envoy.harness): the engine keeps that Envoy only for the same layout,
stops it otherwise, and a suite that does not validate leaves no Envoy behind."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES, REPO
from wasmkit.envoy import process
from wasmkit.envoy.harness import EarlyEnvoy, EarlyStart
from wasmkit.errors import InputFileError
from wasmkit.tasks.test import TestRequest, run_filter_tests
from wasmkit.testing import envoy_engine

pytestmark = pytest.mark.envoy

SUITE = {
    "rootId": "add_header",
    "config": "world",
    "cases": [
        {"name": "adds", "expect": {"status": 200, "headers": {"hello": "world"}}},
        {"name": "denies", "request": {"headers": {"x-deny": "1"}}, "expect": {"status": 403}},
    ],
}


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, list[Any]]:
    """The early Envoys started and what the engine took, with the cache in tmp_path."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    record: dict[str, list[Any]] = {"started": [], "taken": []}
    init, take = EarlyEnvoy.__init__, EarlyStart.take

    def spy_init(self: EarlyEnvoy, *args: Any) -> None:
        init(self, *args)
        record["started"].append(self)

    def spy_take(self: EarlyStart, *args: Any) -> EarlyEnvoy | None:
        taken = take(self, *args)
        record["taken"].append(taken)
        return taken

    monkeypatch.setattr(EarlyEnvoy, "__init__", spy_init)
    monkeypatch.setattr(EarlyStart, "take", spy_take)
    return record


def _run(module: Path, suite: dict[str, Any], tmp_path: Path) -> Any:
    tests = tmp_path / "tests.yaml"
    tests.write_text(yaml.safe_dump(suite))
    return run_filter_tests(TestRequest(module=module, test_file=tests))


def test_the_second_run_takes_the_envoy_started_early(
    tmp_path: Path, wat: Callable[[str], Path], seen: dict[str, list[Any]]
) -> None:
    module = wat("add_header")
    first = _run(module, SUITE, tmp_path)
    assert first.ok and first.passed == 2
    assert seen["started"] == [] and seen["taken"] == [None]  # nothing remembered yet
    second = _run(module, SUITE, tmp_path)
    assert second.ok and second.passed == 2
    [early] = seen["started"]
    assert seen["taken"][-1] is early
    assert not early.envoy.alive() and not early.run_dir.exists()


def test_an_early_envoy_of_another_layout_is_stopped_and_the_right_one_runs(
    tmp_path: Path, wat: Callable[[str], Path], seen: dict[str, list[Any]]
) -> None:
    module = wat("add_header")
    assert _run(module, SUITE, tmp_path).ok
    [remembered] = (tmp_path / "cache" / "wasmkit" / "test-layouts").glob("*.json")
    layout = json.loads(remembered.read_text())
    layout["variants"][0][2] = "stale"  # as if the suite had said config: stale
    remembered.write_text(json.dumps(layout))
    result = _run(module, SUITE, tmp_path)
    assert result.ok and result.passed == 2  # hello: world, not stale
    [early] = seen["started"]
    assert seen["taken"][-1] is None
    assert not early.envoy.alive() and not early.run_dir.exists()
    assert json.loads(remembered.read_text())["variants"][0][2] == "world"  # remembered again


def test_a_suite_that_does_not_validate_leaves_no_envoy(
    tmp_path: Path,
    wat: Callable[[str], Path],
    seen: dict[str, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("wasmkit.tasks.test.early_start_key", lambda *parts: "one-key")
    module = wat("add_header")
    assert _run(module, SUITE, tmp_path).ok
    with pytest.raises(InputFileError):
        _run(module, {**SUITE, "cases": [{"name": "x", "expect": {"status": "soon"}}]}, tmp_path)
    [early] = seen["started"]
    assert seen["taken"] == [None]  # only the first run's look
    assert not early.envoy.alive() and not early.run_dir.exists()


def test_a_project_run_starts_early_from_its_wasmkit_yaml(
    tmp_path: Path, seen: dict[str, list[Any]]
) -> None:
    project = tmp_path / "project"
    shutil.copytree(REPO / "examples" / "add-header", project)
    request = TestRequest(project_dir=project)
    assert run_filter_tests(request).ok
    assert seen["started"] == []
    result = run_filter_tests(request)
    assert result.ok and result.passed == 5
    [early] = seen["started"]
    assert seen["taken"][-1] is early
    # An edited expectation leaves the layout as it was: the early Envoy is taken.
    text = (project / "wasmkit.yaml").read_text()
    text = text.replace("headers: {hello: world}", "headers: {hello: {present: true}}")
    (project / "wasmkit.yaml").write_text(text)
    assert run_filter_tests(request).ok
    assert len(seen["started"]) == 2 and seen["taken"][-1] is seen["started"][-1]
    # An edited configuration does not: that Envoy is stopped, the right one runs (and its
    # layout is remembered for the next run).
    (project / "wasmkit.yaml").write_text(text.replace("config: tomorrow", "config: today"))
    changed = run_filter_tests(request)
    assert changed.failed == 1  # the case still expects tomorrow's header: today's came
    assert len(seen["started"]) == 3 and seen["taken"][-1] is None
    assert not seen["started"][-1].envoy.alive()
    run_filter_tests(request)
    assert len(seen["started"]) == 4 and seen["taken"][-1] is seen["started"][-1]


def test_no_early_envoy_runs_beside_a_suite_that_expects_a_refusal(
    tmp_path: Path,
    wat: Callable[[str], Path],
    seen: dict[str, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("wasmkit.tasks.test.early_start_key", lambda *parts: "one-key")
    module = wat("config_check")
    plain = yaml.safe_load((FIXTURES / "wat" / "config_check.tests.yaml").read_text())
    refusing = dict(plain)
    plain = {**plain, "cases": [c for c in plain["cases"] if "loadError" not in c["expect"]]}
    assert _run(module, plain, tmp_path).ok  # remembered under the one key
    alive_at_validation: list[bool] = []
    validation = process.Validation

    def spy(*args: Any) -> Any:
        alive_at_validation.extend(e.envoy.alive() for e in seen["started"])
        return validation(*args)

    monkeypatch.setattr(envoy_engine, "Validation", spy)
    result = _run(module, refusing, tmp_path)  # its refusal is validated alone, first
    assert result.ok and result.passed == 3
    [early] = seen["started"]
    assert seen["taken"] == [None]  # the first run's look only: the second closed it
    assert alive_at_validation == [False]  # before the refused variant's validation ran
    assert not early.run_dir.exists()


def test_a_module_rebuilt_while_the_early_envoy_starts_is_not_taken(
    tmp_path: Path,
    wat: Callable[[str], Path],
    seen: dict[str, list[Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = wat("add_header")
    assert _run(module, SUITE, tmp_path).ok
    init = EarlyEnvoy.__init__

    def rebuilt_meanwhile(self: EarlyEnvoy, *args: Any) -> None:
        init(self, *args)
        module.write_bytes(module.read_bytes())  # a rebuild: same path, new file contents
        stat = module.stat()
        os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    monkeypatch.setattr(EarlyEnvoy, "__init__", rebuilt_meanwhile)
    result = _run(module, SUITE, tmp_path)
    assert result.ok and result.passed == 2
    assert seen["taken"][-1] is None  # the early Envoy may hold the module as it was
