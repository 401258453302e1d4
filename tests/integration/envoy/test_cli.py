"""The wasmkit test / run commands as a user and a CI job use them: exit codes and files."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli import wasmkit as _wasmkit
from tests.conftest import REPO

pytestmark = pytest.mark.envoy
Wat = Callable[[str], Path]
EXAMPLE = REPO / "examples" / "add-header"


def wasmkit(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return _wasmkit(*args, cwd=cwd, env=env, timeout=120)


def test_example_project_passes() -> None:
    done = wasmkit("test", EXAMPLE)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "5 passed, 0 failed"
    assert any(line.startswith("engine envoy: Envoy 1.40.0 (V8)") for line in lines)


def test_failures_exit_1_with_junit_and_json(tmp_path: Path, wat: Wat) -> None:
    tests = tmp_path / "t.yaml"
    tests.write_text(
        "config: world\n"
        "cases:\n"
        "  - {name: passes, expect: {headers: {hello: world}}}\n"
        "  - {name: fails, expect: {headers: {hello: mars}}}\n"
    )
    module = wat("add_header")
    junit = tmp_path / "reports" / "junit.xml"
    done = wasmkit("test", "--module", module, "--file", tests, "--junit-xml", junit)
    assert done.returncode == 1
    assert "header hello: expected 'mars', got 'world'" in done.stdout
    assert done.stdout.splitlines()[-1] == "1 passed, 1 failed"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1" and suite.get("tests") == "2"

    as_json = wasmkit("test", "--module", module, "--file", tests, "--json", "-k", "passes")
    assert as_json.returncode == 0
    data = json.loads(as_json.stdout)
    assert data["summary"] == {"passed": 1, "failed": 0, "skipped": 0}
    assert data["engines"][0]["description"].startswith("Envoy 1.40")


def test_config_flag_overrides(tmp_path: Path, wat: Wat) -> None:
    tests = tmp_path / "t.yaml"
    tests.write_text("cases:\n  - {name: c, expect: {headers: {hello: from-flag}}}\n")
    done = wasmkit("test", "--module", wat("add_header"), "--file", tests, "--config", "from-flag")
    assert done.returncode == 0, done.stdout + done.stderr


def test_module_that_does_not_load_exits_1_quoting_envoy(tmp_path: Path, wat: Wat) -> None:
    tests = tmp_path / "t.yaml"
    tests.write_text("cases:\n  - {name: c, expect: {status: 200}}\n")
    done = wasmkit("test", "--module", wat("unknown_import"), "--file", tests)
    assert done.returncode == 1
    assert (
        "the module failed to load: Failed to load Wasm module due to a missing import: env.abort"
        in done.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--module", "x.wasm"], "give both --module and --file"),
        (["--module", "missing.wasm", "--file", "t.yaml"], "module missing.wasm does not exist"),
        (
            ["--module", "m.wasm", "--file", "bad.yaml"],
            "bad.yaml is not valid:\n  cases[0].expect.status",
        ),
        (
            ["--module", "m.wasm", "--file", "t.yaml", "-k", "nomatch"],
            "no test case matches 'nomatch'",
        ),
        (["--bogus"], "No such option '--bogus'"),
    ],
)
def test_usage_and_input_errors_exit_2(
    tmp_path: Path, wat: Wat, args: list[str], message: str
) -> None:
    (tmp_path / "t.yaml").write_text("cases:\n  - {name: c, expect: {status: 200}}\n")
    (tmp_path / "bad.yaml").write_text("cases:\n  - {name: c, expect: {status: nope}}\n")
    wat("add_header").rename(tmp_path / "m.wasm")
    done = wasmkit("test", *args, cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    if "--bogus" not in args:
        assert "hint:" in done.stderr


def test_missing_envoy_exits_3(tmp_path: Path) -> None:
    done = wasmkit("test", EXAMPLE, "--envoy", tmp_path / "no-envoy")
    assert done.returncode == 3
    assert "Envoy binary" in done.stderr and "hint: install the pinned Envoy" in done.stderr


def test_project_without_tests_or_project(tmp_path: Path) -> None:
    done = wasmkit("test", cwd=tmp_path)
    assert done.returncode == 2 and "no wasmkit.yaml" in done.stderr


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(x) for x in text]
    return found


def _start_run(
    module: Path, tmp_path: Path, args: list[str] | None = None
) -> tuple[subprocess.Popen[str], str, int]:
    args = args or ["run", "--module", str(module), "--config", "served", "--root-id", "x"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasmkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("serving "), line + (proc.stderr.read() if proc.stderr else "")
    url = line.split(" at ", 1)[1].split()[0]
    envoys = [c for c in _children(proc.pid) if "envoy" in Path(f"/proc/{c}/cmdline").read_text()]
    assert len(envoys) == 1
    return proc, url, envoys[0]


def _gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_run_serves_until_ctrl_c(tmp_path: Path, wat: Wat) -> None:
    proc, url, envoy_pid = _start_run(wat("add_header"), tmp_path)
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.headers["hello"] == "served"
            echoed = json.loads(response.read())
            assert echoed["headers"]["x-stamp"] == "served"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert "stopped" in out
        assert _gone(envoy_pid)
    finally:
        proc.kill()


def test_test_serve_uses_the_projects_settings(tmp_path: Path) -> None:
    proc, url, envoy_pid = _start_run(EXAMPLE, tmp_path, ["test", str(EXAMPLE), "--serve"])
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.headers["hello"] == "world"
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
        assert proc.returncode == 0
        assert _gone(envoy_pid)
    finally:
        proc.kill()


def test_envoy_dies_with_wasmkit(tmp_path: Path, wat: Wat) -> None:
    proc, _, envoy_pid = _start_run(wat("add_header"), tmp_path)
    proc.kill()
    proc.wait(timeout=5)
    assert _gone(envoy_pid), "Envoy outlived a killed wasmkit"


def test_trap_shows_the_filter_log_and_keeps_relative_artifacts(tmp_path: Path, wat: Wat) -> None:
    (tmp_path / "t.yaml").write_text("cases:\n  - {name: c, expect: {status: 200}}\n")
    wat("trap").rename(tmp_path / "trap.wasm")
    done = wasmkit(
        "test", "--module", "trap.wasm", "--file", "t.yaml", "--keep-artifacts", "art", cwd=tmp_path
    )
    assert done.returncode == 1
    assert "status: expected 200, got 503 (wasm_fail_stream)" in done.stdout
    assert (
        "filter log (envoy):\n  [error] proxy_on_request_headers failed: Uncaught RuntimeError: unreachable"
        in done.stdout
    )
    assert (tmp_path / "art" / "envoy.yaml").is_file() and (
        tmp_path / "art" / "envoy.log"
    ).is_file()


@pytest.mark.parametrize("args", [("-v", "test"), ("test", "-v")], ids=["global", "as-in-readme"])
def test_verbose_shows_the_filter_log_of_a_passing_run(args: tuple[str, str]) -> None:
    done = wasmkit(*args, EXAMPLE)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "filter log (envoy):\n  [info] configured" in done.stdout
    assert "filter log" not in wasmkit("test", EXAMPLE).stdout


@pytest.mark.parametrize("how", ["flag", "env"])
def test_a_missed_start_up_deadline_names_the_flag_and_a_directory_that_exists(
    how: str, tmp_path: Path
) -> None:
    args: list[str | Path] = ["test", EXAMPLE]
    # No remembered layout: an Envoy started early from one may be ready at the first look.
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    if how == "flag":
        args += ["--startup-timeout", "0.001"]
    else:
        env["WASMKIT_STARTUP_TIMEOUT"] = "0.001"
    done = wasmkit(*args, env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Envoy was not ready after 0.001s" in done.stderr
    assert "hint: raise the deadline: wasmkit test --startup-timeout SECONDS" in done.stderr
    assert "WASMKIT_STARTUP_TIMEOUT=SECONDS" in done.stderr
    run_dir = Path(done.stderr.split("Envoy's config and log are in ")[1].split()[0])
    assert (run_dir / "envoy.yaml").is_file()  # (1 ms is too early for a log)
    assert "envoy.filters.http.router" not in done.stderr  # no list of compiled-in extensions
    assert "statically linked extensions" not in done.stderr
    shutil.rmtree(run_dir)
