"""The conformance corpus: every suite runs on the real Envoy and in the emulator; they must agree.

The corpus is data: each ``tests/fixtures/wat/<name>.tests.yaml`` next to its
``<name>.wat``, every ``examples/*/wasmkit.yaml`` project, and the modules Envoy
refuses (with Envoy's reason). To add suites (the scaffolds' projects, once built),
add entries to :func:`corpus`; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from wasmkit.testing import EnvoyEngine, SuiteResult, render_text, resolve_inputs, run_tests
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
        Entry(
            f"wat/{suite.name.removesuffix('.tests.yaml')}",
            suite.with_name(suite.name.removesuffix(".tests.yaml") + ".wat"),
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


def test_the_corpus_covers_every_wat_fixture() -> None:
    """A new WAT fixture needs a suite (or an entry in REFUSED) to join the corpus."""
    covered = {e.module.stem for e in corpus() if e.module is not None}
    assert covered == {p.stem for p in WAT.glob("*.wat")}
