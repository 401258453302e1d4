"""The wheel carries everything an installed wasmkit needs besides its Python code."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_wheel_has_harness_scaffolds_and_builder_images(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("wasmkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for tree in ("harness", "scaffolds"):
        expected = {
            f"wasmkit/_data/{tree}/{p.relative_to(REPO / tree).as_posix()}"
            for p in (REPO / tree).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        }
        assert expected and expected <= names, sorted(expected - names)
    images = {
        f"wasmkit/build/images/{p.name}"
        for p in (REPO / "wasmkit/build/images").glob("*.Containerfile")
    }
    assert len(images) == 4 and images <= names
    assert "wasmkit/py.typed" in names
