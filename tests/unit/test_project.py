"""The build: section of wasmkit.yaml is validated with the rest of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

import wasmkit.testing  # noqa: F401  (wasmkit.project needs it loaded first)
from wasmkit.errors import InputFileError
from wasmkit.project import load_project

BASE = "name: p\nlanguage: cpp\nrootId: r\n"


def test_defaults(tmp_path: Path) -> None:
    (tmp_path / "wasmkit.yaml").write_text(BASE)
    build = load_project(tmp_path).project.build
    assert (build.runner, build.mode, build.extra_args, build.env) == ("auto", "release", (), {})


def test_values(tmp_path: Path) -> None:
    (tmp_path / "wasmkit.yaml").write_text(
        BASE + "build: {runner: local, mode: debug, extraArgs: [-DX], env: {A: b}}\n"
    )
    build = load_project(tmp_path).project.build
    assert (build.runner, build.mode, build.extra_args, build.env) == (
        "local",
        "debug",
        ("-DX",),
        {"A": "b"},
    )


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("{runner: kubernetes}", "build.runner: Input should be 'auto', 'local' or 'container'"),
        ("{optimise: true}", "build.optimise: unknown key"),
        ("{mode: fast}", "build.mode:"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, section: str, problem: str) -> None:
    (tmp_path / "wasmkit.yaml").write_text(BASE + f"build: {section}\n")
    with pytest.raises(InputFileError) as caught:
        load_project(tmp_path)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
