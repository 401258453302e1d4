"""Run the wasmkit CLI as users do, against the real toolchains and the real Envoy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import ok as ok  # re-exported: tests import the CLI helper from here too
from tests.cli import wasmkit as wasmkit


def init(tmp: Path, language: str, version: str = "1.28", platform: str = "istio") -> Path:
    project = tmp / f"{language}-{platform}-{version}".replace(".", "-")
    ok(
        wasmkit(
            "init",
            project,
            "--language",
            language,
            "--platform",
            platform,
            "--platform-version",
            version,
        )
    )
    return project


def set_config(project: Path, old: str, new: str, *, expectations: bool) -> None:
    """Change the plugin configuration (and, if asked, what the cases expect)."""
    path = project / "wasmkit.yaml"
    text = path.read_text()
    assert f"config: {old}\n" in text
    if expectations:
        text = text.replace(old, new)
    else:
        text = text.replace(f"config: {old}\n", f"config: {new}\n", 1)
    path.write_text(text)


@pytest.fixture(autouse=True)
def _own_image_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WASMKIT_HOME", str(tmp_path / "wasmkit-home"))


def copy(built: Path, tmp_path: Path) -> Path:
    """A copy of a module-scoped built project, for a test that edits it."""
    target = tmp_path / "p"
    shutil.copytree(built, target)
    return target


def build_without_toolchains(project: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``wasmkit build --runner local`` with a PATH that holds only python3."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    os.symlink(sys.executable, bin_dir / "python3")
    done = wasmkit("build", project, "--runner", "local", "--force", env={"PATH": str(bin_dir)})
    assert done.returncode == 3, done.stderr
    return done
