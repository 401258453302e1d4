"""The local runner: placeholders, environment, streamed and kept output, failures."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.cli import wasmkit
from wasmkit.build.local import LocalRunner
from wasmkit.build.runner import Step, Workspace
from wasmkit.errors import ToolNotFound

SCRIPT = (
    "import os, sys; print('src', os.getcwd()); print('out', sys.argv[1]); "
    "print('cache', os.environ['MY_CACHE']); print('kept', os.environ.get('KEPT')); "
    "print('oops', file=sys.stderr); sys.exit(int(sys.argv[2]))"
)


def workspace(tmp_path: Path) -> Workspace:
    for name in ("src", "out", "cache"):
        (tmp_path / name).mkdir()
    return Workspace(src=tmp_path / "src", out=tmp_path / "out", cache=tmp_path / "cache")


def test_placeholders_env_and_streamed_output(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    step = Step(
        (sys.executable, "-c", SCRIPT, "{out}/x.wasm", "0"), env={"MY_CACHE": "{cache}/npm"}
    )
    lines: list[str] = []
    result = LocalRunner({"KEPT": "yes", "PATH": "/usr/bin:/bin"}).run(
        step, ws, on_output=lines.append
    )
    assert result.returncode == 0
    assert result.argv[3] == f"{ws.out}/x.wasm"
    assert f"src {ws.src}" in lines and f"out {ws.out}/x.wasm" in lines
    assert f"cache {ws.cache}/npm" in lines and "kept yes" in lines and "oops" in lines
    assert result.output.splitlines() == lines


def test_a_failing_step_returns_its_code_and_output(tmp_path: Path) -> None:
    ws = workspace(tmp_path)
    result = LocalRunner({}).run(
        Step((sys.executable, "-c", SCRIPT, "o", "3"), env={"MY_CACHE": ""}), ws
    )
    assert result.returncode == 3 and "oops" in result.output


def test_a_missing_program_is_a_tool_not_found(tmp_path: Path) -> None:
    with pytest.raises(ToolNotFound, match="no-such-compiler-19 is not installed") as caught:
        LocalRunner({}).run(Step(("no-such-compiler-19", "x")), workspace(tmp_path))
    assert caught.value.exit_code == 3 and "wasmkit doctor" in (caught.value.hint or "")


def test_a_step_over_its_deadline_is_stopped(tmp_path: Path) -> None:
    step = Step((sys.executable, "-c", "import time; time.sleep(30)"))
    result = LocalRunner({}, timeout_s=0.5).run(step, workspace(tmp_path))
    assert result.returncode != 0 and result.duration_s < 10
    assert "stopped after 0.5 s" in result.output


def test_doctor_names_what_is_missing_and_how_to_install_it(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    done = wasmkit("doctor", "--no-engine", env={"PATH": str(bin_dir)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "cpp (C++ (clang + wasi-libc)): missing tools" in lines
    assert "  MISSING clang++-19: C++ compiler with the wasm32 target" in lines
    assert any(
        line.startswith("  install: apt-get install -y --no-install-recommends clang-19")
        for line in lines
    )
    assert any(
        line.startswith("  install: apt-get install -y --no-install-recommends nodejs npm")
        for line in lines
    )
    assert any(line.startswith("envoy: ok") for line in lines)  # the wheel's Envoy needs no PATH


def test_doctor_on_this_machine_finds_the_ci_toolchains() -> None:
    done = wasmkit("doctor", "--no-engine")
    assert done.returncode == 0, done.stderr
    assert "cpp (C++ (clang + wasi-libc)): ready" in done.stdout
    assert "assemblyscript (AssemblyScript (@solo-io/proxy-runtime)): ready" in done.stdout
