"""``wasmkit [CMD ...] --help`` matches tests/unit/cli/golden/ (the CLI's surface, reviewed as text).

A changed or new command changes its golden file in the same commit. Regenerate with::

    WASMKIT_UPDATE_GOLDEN=1 python3 -m pytest tests/unit/cli/test_help_golden.py

and read the diff before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.cli.commands import command_paths
from wasmkit.cli.main import cli

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("WASMKIT_UPDATE_GOLDEN") == "1"
REGENERATE = "WASMKIT_UPDATE_GOLDEN=1 python3 -m pytest tests/unit/cli/test_help_golden.py"


def _golden(path: tuple[str, ...]) -> Path:
    return GOLDEN / ("-".join(("wasmkit", *path)) + ".txt")


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(
        cli, [*path, "--help"], prog_name="wasmkit", terminal_width=100, color=False
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(("wasmkit", *p)))
def test_help_matches_its_golden_file(path: tuple[str, ...]) -> None:
    text, golden = _help(path), _golden(path)
    if UPDATE:
        golden.write_text(text)
    assert golden.is_file(), f"no {golden.name}: {REGENERATE}"
    assert text == golden.read_text(), f"--help changed; if on purpose: {REGENERATE}"


def test_every_golden_file_has_a_command() -> None:
    wanted = {_golden(path).name for path in command_paths()}
    stale = sorted(p.name for p in GOLDEN.glob("*.txt") if p.name not in wanted)
    if UPDATE:
        for name in stale:
            (GOLDEN / name).unlink()
        stale = []
    assert stale == [], f"golden files of commands that are gone: {stale}"
