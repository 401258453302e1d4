"""The conformance corpus: every suite runs on the real Envoy and in the emulator; they must agree.

The corpus is data: each ``tests/fixtures/wat/<name>[.<variant>].tests.yaml`` next to its
``<name>.wat``, every ``examples/*/wasmkit.yaml`` project, and the modules Envoy
refuses (with Envoy's reason). To add suites (the scaffolds' projects, once built),
add entries to :func:`corpus`; nothing else changes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from wasmkit.tasks.test import resolve_inputs
from wasmkit.testing import EnvoyEngine, SuiteResult, render_text, run_tests
from wasmkit.testing.api import TestInputs
from wasmkit.testing.emulator_engine import EmulatorEngine

pytestmark = pytest.mark.envoy

REPO = Path(__file__).resolve().parents[2]
WAT = REPO / "tests" / "fixtures" / "wat"
ONE_CASE = {"cases": [{"name": "one request", "expect": {"status": 200}}]}


@dataclass(frozen=True)
class Entry:
    id: str
    module: Path | None = None
    suite: Path | None = None
    project: Path | None = None
    #: Envoy's reason when the module must be refused (both engines must say it).
    refused: str | None = None

    def inputs(self, tmp_path: Path) -> TestInputs:
        if self.project is not None:
            return resolve_inputs(project_dir=self.project)
        assert self.module is not None
        suite = self.suite
        if suite is None:
            import yaml

            suite = tmp_path / "one-case.yaml"
            suite.write_text(yaml.safe_dump(ONE_CASE))
        return resolve_inputs(module=self.module, test_file=suite)


REFUSED = {
    "no_abi": "Missing or unknown Proxy-Wasm ABI version",
    "unknown_import": "Failed to load Wasm module due to a missing import: env.abort",
    "bad_signature": "Failed to load Wasm module due to an import type mismatch: env.proxy_log, "
    "want: i32 i32 -> i32, but host exports: i32 i32 i32 -> i32",
    "configure_fails": "Failed to configure base Wasm plugin",
}


def corpus() -> list[Entry]:
    entries = [
        # <name>.tests.yaml, or <name>.<variant>.tests.yaml: another suite for <name>.wat
        Entry(
            f"wat/{suite.name.removesuffix('.tests.yaml')}",
            suite.with_name(suite.name.split(".")[0] + ".wat"),
            suite,
        )
        for suite in sorted(WAT.glob("*.tests.yaml"))
    ]
    entries += [
        Entry(f"example/{project.parent.name}", project=project.parent)
        for project in sorted((REPO / "examples").glob("*/wasmkit.yaml"))
    ]
    entries += [
        Entry(f"refused/{name}", WAT / f"{name}.wat", refused=reason)
        for name, reason in REFUSED.items()
    ]
    return entries


def _explain(result: SuiteResult) -> str:
    return render_text(result)


@pytest.mark.parametrize("entry", corpus(), ids=lambda e: e.id)
def test_engines_agree(entry: Entry, tmp_path: Path) -> None:
    result = run_tests(entry.inputs(tmp_path), [EnvoyEngine(), EmulatorEngine()])
    assert result.comparisons, "nothing was compared"
    assert result.diverged == 0, _explain(result)
    if entry.refused is not None:
        assert not result.runs, "a module that Envoy refuses was run"
        refusals = {c.left.load_error for c in result.comparisons} | {
            c.right.load_error for c in result.comparisons
        }
        assert refusals == {entry.refused}, _explain(result)
    else:
        assert result.ok, _explain(result)
        assert {run.engine for run in result.runs} == {"envoy", "emulator"}


def test_a_configuration_refused_unexpectedly_fails_only_its_own_cases(tmp_path: Path) -> None:
    """configure_trap.wat traps on an empty configuration. A suite that does not expect that
    (as @solo-io/proxy-runtime 0.1.8's README example meets it) fails that case alone, on both
    engines alike; the cases with other configurations still run and pass."""
    import yaml

    suite = tmp_path / "unexpected.tests.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "config": "ok",
                "cases": [
                    {"name": "accepted", "expect": {"headers": {"x-configured": "yes"}}},
                    {"name": "refused", "config": "", "expect": {"status": 200}},
                    {"name": "accepted again", "config": "fine", "expect": {"status": 200}},
                ],
            }
        )
    )
    inputs = resolve_inputs(module=WAT / "configure_trap.wat", test_file=suite)
    result = run_tests(inputs, [EnvoyEngine(), EmulatorEngine()])
    assert result.load_error is None, _explain(result)
    assert result.diverged == 0, _explain(result)
    verdicts = {(c.engine, c.name): c.passed for c in result.cases}
    assert verdicts == {
        (engine, name): name != "refused"
        for engine in ("envoy", "emulator")
        for name in ("accepted", "refused", "accepted again")
    }, _explain(result)
    for case in result.cases:
        if case.name == "refused":
            (mismatch,) = case.mismatches
            assert mismatch.what == "module" and "configure" in mismatch.got, _explain(result)


def test_the_corpus_covers_every_wat_fixture() -> None:
    """A new WAT fixture needs a suite (or an entry in REFUSED) to join the corpus."""
    covered = {e.module.stem for e in corpus() if e.module is not None}
    assert covered == {p.stem for p in WAT.glob("*.wat")}


def _wasmkit(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wasmkit", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_the_emulator_needs_no_envoy() -> None:
    done = _wasmkit(
        "test",
        "--engine",
        "emulator",
        REPO / "examples" / "add-header",
        env={"WASMKIT_ENVOY": "/nonexistent/envoy"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "5 passed, 0 failed"
    assert "engine emulator" in done.stdout


def test_both_engines_from_the_cli_with_json_and_junit(tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    done = _wasmkit(
        "test",
        "--engine",
        "both",
        "--json",
        "--junit-xml",
        junit,
        "--module",
        WAT / "http_auth.wat",
        "--file",
        WAT / "http_auth.tests.yaml",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(done.stdout)
    assert data["summary"] == {"passed": 5, "failed": 0, "skipped": 3, "diverged": 0}
    assert data["divergences"] == []
    assert {e["name"] for e in data["engines"]} == {"envoy", "emulator"}
    skipped = ET.parse(junit).getroot().findall(".//testcase/skipped")
    assert len(skipped) == 3 and "emulator-only" in (skipped[0].get("message") or "")


def test_a_failing_emulator_case_exits_1(tmp_path: Path) -> None:
    suite = tmp_path / "tests.yaml"
    suite.write_text("cases:\n  - name: wrong\n    expect: {status: 418}\n")
    done = _wasmkit(
        "test", "--engine", "emulator", "--module", WAT / "add_header.wat", "--file", suite
    )
    assert done.returncode == 1
    assert "status: expected 418, got 200" in done.stdout
