"""The Envoy process owner's paths Envoy itself rarely takes, driven by a fake Envoy
(tests/fixtures/fake_envoy/envoy.py): ready then TERM, a process that ignores TERM (KILL after
the grace period), a deadline that passes, an early exit with and without Envoy's reason; and
``wait_exited``, which wakes when a child exits rather than polling for it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wasmkit._process import wait_exited
from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.envoy.process import EnvoyProcess
from wasmkit.errors import ModuleLoadError, ProcessFailed

FAKE = EnvoyBinary(Path(__file__).parents[2] / "fixtures" / "fake_envoy" / "envoy.py", "fake")


def _envoy(tmp_path: Path, mode: str, ready_timeout_s: float = 30.0) -> EnvoyProcess:
    config = tmp_path / "envoy.yaml"
    config.write_text(mode + "\n")
    return EnvoyProcess(FAKE, config, tmp_path / "run", ready_timeout_s=ready_timeout_s)


def test_ready_then_stopped_with_term(tmp_path: Path) -> None:
    with _envoy(tmp_path, "ready") as envoy:
        assert envoy.alive() and envoy.admin is not None
        assert envoy.admin.get("/ready")[0] == 200
    assert not envoy.alive()
    assert envoy.stop() == -signal.SIGTERM


def test_a_process_that_ignores_term_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    envoy = _envoy(tmp_path, "ignore-term")
    envoy.start()
    assert envoy.stop(grace_s=0.5) == -signal.SIGKILL
    assert not envoy.alive()


def test_the_deadline_stops_an_envoy_that_never_gets_ready(tmp_path: Path) -> None:
    envoy = _envoy(tmp_path, "never-ready", ready_timeout_s=0.5)
    with pytest.raises(ProcessFailed) as raised:
        envoy.start()
    assert "not ready after 0.5s" in raised.value.message
    assert raised.value.hint is not None and str(envoy.run_dir) in raised.value.hint
    assert not envoy.alive()  # the owner stopped it before raising


def test_an_early_exit_with_envoys_reason_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModuleLoadError) as raised, _envoy(tmp_path, "load-fails"):
        pass
    assert raised.value.reason == "Failed to load Wasm module due to a missing import: env.fake"


def test_an_early_exit_without_a_reason_keeps_the_command_and_stderr(tmp_path: Path) -> None:
    envoy = _envoy(tmp_path, "crash")
    with pytest.raises(ProcessFailed) as raised:
        envoy.start()
    error = raised.value
    assert error.returncode == 1 and error.command[0] == str(FAKE.path)
    assert "exited with code 1 before it was ready" in error.message
    assert "fake envoy: cannot start" in error.output
    assert (envoy.run_dir / "envoy.stderr").is_file()  # kept for the report


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_wait_exited_reaps_a_child_as_it_exits() -> None:
    proc = _child("import time; time.sleep(0.2)")
    wait_exited(proc, timeout_s=30)
    assert proc.returncode == 0
    wait_exited(proc, timeout_s=30)  # already reaped: returns at once


def test_wait_exited_times_out_once_not_twice() -> None:
    proc = _child("import time; time.sleep(30)")
    try:
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            wait_exited(proc, timeout_s=1.0)
        assert 1.0 <= time.monotonic() - started < 1.8  # not 2 s: one wait, not two
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()
