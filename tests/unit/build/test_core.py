"""The build core's decisions, without running a toolchain."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from wasmkit.abi import AbiVersion
from wasmkit.build.core import (
    BuildOptions,
    _step_failure,
    build_project,
    make_runner,
    write_runtime_config,
)
from wasmkit.build.languages import get_language
from wasmkit.build.local import LocalRunner
from wasmkit.build.runner import Step, StepResult
from wasmkit.errors import CompileError, ProcessFailed, ToolNotFound, UsageError


def test_runtime_config_is_the_wasme_shape(tmp_path: Path) -> None:
    path = tmp_path / "runtime-config.json"
    write_runtime_config(path, root_ids=["add_header"], abis=[AbiVersion.V0_2_1])
    assert json.loads(path.read_text()) == {
        "type": "envoy_proxy",
        "abiVersions": ["0.2.1"],
        "config": {"rootIds": ["add_header"]},
    }


def test_local_runner_refuses_early_when_tools_are_missing(tmp_path: Path) -> None:
    options = BuildOptions(env={"PATH": str(tmp_path)})
    with pytest.raises(ToolNotFound) as caught:
        make_runner("local", get_language("assemblyscript"), options)
    assert caught.value.exit_code == 3
    assert "node" in caught.value.message and "npm" in caught.value.message
    assert caught.value.hint is not None
    assert "apt-get install -y --no-install-recommends nodejs npm" in caught.value.hint


def test_local_runner_when_tools_are_there(tmp_path: Path) -> None:
    for name in ("node", "npm"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    runner = make_runner(
        "local", get_language("assemblyscript"), BuildOptions(env={"PATH": str(tmp_path)})
    )
    assert isinstance(runner, LocalRunner) and runner.base_env == {"PATH": str(tmp_path)}


def test_unknown_runner() -> None:
    with pytest.raises(UsageError, match="unknown runner 'cloud'"):
        make_runner("cloud", get_language("cpp"), BuildOptions())


def result(step: Step, code: int = 1) -> StepResult:
    return StepResult(
        step=step, argv=step.argv, returncode=code, output="line 1\nbad thing\n", duration_s=0.1
    )


def test_a_failed_compile_is_an_input_error_with_the_output() -> None:
    error = _step_failure(
        result(Step(("asc",), description="compile")), get_language("assemblyscript")
    )
    assert isinstance(error, CompileError) and error.exit_code == 2
    assert error.details == "line 1\nbad thing\n" and "wasmkit build -v" in (error.hint or "")


def test_a_failed_dependency_fetch_is_an_environment_problem() -> None:
    error = _step_failure(
        result(Step(("npm", "install"), network=True)), get_language("assemblyscript")
    )
    assert isinstance(error, ProcessFailed) and error.exit_code == 3
    assert "network" in (error.hint or "") and "bad thing" in error.output


def test_a_project_without_a_language_or_with_a_bad_platform(tmp_path: Path) -> None:
    (tmp_path / "wasmkit.yaml").write_text("name: p\nrootId: r\n")
    with pytest.raises(UsageError, match="has no `language:`"):
        build_project(tmp_path)
    (tmp_path / "wasmkit.yaml").write_text(
        "name: p\nrootId: r\nlanguage: cpp\nplatform: {name: istio, version: '1.3'}\n"
    )
    with pytest.raises(UsageError, match=r"istio 1\.3 cannot run Wasm filters"):
        build_project(tmp_path)
    (tmp_path / "wasmkit.yaml").write_text(
        "name: p\nrootId: r\nlanguage: assemblyscript\nplatform: {name: istio, version: '1.6'}\n"
    )
    with pytest.raises(UsageError, match=r"accepts only 0\.1\.0"):
        build_project(tmp_path)


def test_a_missing_go_module_says_go_get() -> None:
    # What `go build -mod=readonly` (GOPROXY=off) says for an import go.mod lacks (Go 1.26).
    said = (
        "main.go:3:8: cannot find module providing package github.com/tidwall/gjson: "
        "import lookup disabled by -mod=readonly\n"
    )
    step = Step(("go", "build"), description="go build")
    error = _step_failure(replace(result(step), output=said), get_language("go"))
    assert isinstance(error, CompileError) and error.details == said
    assert "run `go get github.com/tidwall/gjson` in the project" in (error.hint or "")
    plain = _step_failure(result(step), get_language("go"))
    assert "fix the Go" in (plain.hint or "")


def test_a_stale_cargo_lock_says_how_to_update_it_not_to_check_the_network() -> None:
    # What `cargo fetch --locked` says when Cargo.toml gained a dependency (cargo 1.96).
    said = (
        "    Updating crates.io index\n"
        "error: cannot update the lock file /p/Cargo.lock because --locked was passed to "
        "prevent this\n"
    )
    step = Step(("cargo", "fetch", "--locked"), description="cargo fetch (cached)", network=True)
    error = _step_failure(replace(result(step), output=said), get_language("rust"))
    assert isinstance(error, CompileError) and error.exit_code == 2 and error.details == said
    assert "run `cargo update --workspace` in the project" in (error.hint or "")
    assert "network" not in (error.hint or "")
    offline = _step_failure(result(step), get_language("rust"))
    assert isinstance(offline, ProcessFailed) and "network" in (offline.hint or "")
