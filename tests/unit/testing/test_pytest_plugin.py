"""The pytest plugin, run by pytest itself in process on a small test file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES

PLUGIN = "wasmkit.testing.pytest_plugin"

FILTER_TESTS = """
import pytest
from wasmkit.emulator import HttpResponse
from wasmkit.errors import ModuleLoadError


def test_response_and_upstream(wasm_filter):
    f = wasm_filter(root_id="add_header", configuration="world")
    got = f.send("POST", "/x", {"x-user": "al"}, "body", upstream=HttpResponse(201, (), b"made"))
    assert (got.status, got.body, got.header("hello")) == (201, b"made", "world")
    assert dict(got.upstream.headers)["x-stamp"] == "world"
    assert got.upstream.body == b"body"
    assert [line.message for line in f.logs] == ["configured"]


def test_a_refused_module(wasm_filter):
    with pytest.raises(ModuleLoadError, match="ABI"):
        wasm_filter(NO_ABI)


def test_fails_on_purpose(wasm_filter):
    assert wasm_filter().send().header("hello") == "not this"
"""


def _run(tmp_path: Path, *args: str) -> tuple[int, list[str], str]:
    """Run pytest with only this plugin (whether or not the entry point is installed)."""
    test_file = tmp_path / "test_filter.py"
    test_file.write_text(FILTER_TESTS.replace("NO_ABI", repr(str(FIXTURES / "wat" / "no_abi.wat"))))
    outcomes: list[str] = []
    failures: list[str] = []

    class Collect:
        def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
            if report.when == "call":
                outcomes.append(f"{report.nodeid.split('::')[-1]} {report.outcome}")
                if report.failed:
                    failures.append(str(report.longrepr))

    # The nested session must leave faulthandler alone: disabling it restores the signal
    # handlers from before wasmtime installed its own, and the next wasm trap kills us.
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    try:
        code = pytest.main(
            [
                str(test_file),
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:xdist",
                "-p",
                "no:faulthandler",
                "-p",
                PLUGIN,
                "--import-mode=importlib",
                "--rootdir",
                str(tmp_path),
                *args,
            ],
            plugins=[Collect()],
        )
    finally:
        mp.undo()
    return int(code), outcomes, "\n".join(failures)


def test_the_fixture_loads_the_module_given_on_the_command_line(tmp_path: Path) -> None:
    code, outcomes, failures = _run(
        tmp_path, "--wasm-module", str(FIXTURES / "wat" / "add_header.wat")
    )
    assert outcomes == [
        "test_response_and_upstream passed",
        "test_a_refused_module passed",
        "test_fails_on_purpose failed",
    ]
    assert code == pytest.ExitCode.TESTS_FAILED
    assert "not this" in failures


def test_without_a_module_the_fixture_says_what_to_do(tmp_path: Path) -> None:
    _, outcomes, failures = _run(tmp_path, "-k", "response")
    assert outcomes == ["test_response_and_upstream failed"]
    assert "wasm_filter() needs a module" in failures


def test_the_plugin_is_an_entry_point() -> None:
    import tomllib

    pyproject = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())
    assert pyproject["project"]["entry-points"]["pytest11"] == {"wasmkit": PLUGIN}
