"""Go: init -> build (local runner, Go's wasip1 target) -> wasmkit test in a real Envoy, the
toolchain chosen per platform, and how Go builds fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.integration.build.conftest import (
    build_without_toolchains,
    copy,
    init,
    ok,
    set_config,
    wasmkit,
)
from wasmkit.abi import AbiVersion
from wasmkit.build.languages.go import GO_FOR_OLD_ENVOY
from wasmkit.loadcheck import load_problems
from wasmkit.module import inspect_file

pytestmark = [pytest.mark.toolchain, pytest.mark.envoy, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Istio 1.28 (Envoy 1.36): built with Go 1.24, fetched once into the module cache."""
    project = init(tmp_path_factory.mktemp("go"), "go")
    done = ok(wasmkit("build", project, "--runner", "local", timeout=900))
    assert "built in" in done.stderr
    return project


def edit(project: Path, old: str, new: str) -> None:
    source = project / "main.go"
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new, 1))


def go_versions_in(module: Path) -> set[str]:
    """The Go release(s) a module was built with (the runtime embeds its version string)."""
    data = module.read_bytes()
    found = set()
    start = data.find(b"go1.")
    while start != -1:
        end = start + 4
        while end < len(data) and data[end : end + 1] in b"0123456789.":
            end += 1
        found.add(data[start:end].decode().rstrip("."))
        start = data.find(b"go1.", end)
    return found


def test_scaffold_builds_with_go_1_24_for_envoy_1_36_and_passes_then_follows_the_config(
    built: Path, tmp_path: Path
) -> None:
    project = copy(built, tmp_path)
    assert json.loads((project / "build" / "runtime-config.json").read_text()) == {
        "type": "envoy_proxy",
        "abiVersions": ["0.2.0"],
        "config": {"rootIds": ["add_header"]},
    }
    module = project / "build" / "filter.wasm"
    info = inspect_file(module)
    assert info.abi_versions == (AbiVersion.V0_2_0,)
    assert info.start == "_initialize"
    assert load_problems(info) == []
    assert GO_FOR_OLD_ENVOY in go_versions_in(module)
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"

    set_config(project, "world", "mars", expectations=False)
    done = wasmkit("test", project)
    assert done.returncode == 1
    assert "mars" in done.stdout + done.stderr  # the header now carries the new configuration
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("world", "mars"))
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_envoy_1_39_and_newer_get_the_machines_own_go(tmp_path: Path) -> None:
    local = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True, env=os.environ
    ).stdout.strip()
    project = init(tmp_path, "go", "1.31")  # Envoy 1.39
    ok(wasmkit("build", project, "--runner", "local", timeout=600))
    assert local in go_versions_in(project / "build" / "filter.wasm")
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_an_edit_rebuilds_and_changes_the_behaviour(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    assert "up to date" in ok(wasmkit("build", project, "--runner", "local")).stderr
    edit(project, 'ReplaceHttpResponseHeader("hello",', 'ReplaceHttpResponseHeader("hola",')
    assert "built in" in ok(wasmkit("build", project, "--runner", "local")).stderr
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("headers: {hello: world}", "headers: {hola: world}"))
    done = wasmkit("test", project)
    assert done.returncode == 1  # the per-case configuration still expects `hello`
    assert "PASS  adds the hello header from the plugin configuration" in done.stdout


def test_a_compile_error_shows_the_compiler_output(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    edit(project, "p.greeting = string(data)", "p.greeting = string(dta)")
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "go build (GOOS=wasip1 GOARCH=wasm) failed" in done.stderr
    assert "main.go:" in done.stderr and "undefined: dta" in done.stderr  # the compiler's words
    assert "hint: fix the Go" in done.stderr


def test_a_missing_toolchain_exits_3_with_the_install_hint(built: Path, tmp_path: Path) -> None:
    done = build_without_toolchains(copy(built, tmp_path), tmp_path)
    assert "- go: Go 1.24+" in done.stderr
    assert "install Go 1.24 or newer" in done.stderr


def test_a_module_importing_what_envoy_lacks_is_refused_by_name(
    built: Path, tmp_path: Path
) -> None:
    project = copy(built, tmp_path)
    edit(
        project,
        "// httpContext exists once per HTTP request.",
        "//go:wasmimport env proxy_teleport\nfunc teleport(x uint32) uint32\n\n"
        "// httpContext exists once per HTTP request.",
    )
    edit(
        project,
        "\treturn types.ActionContinue\n}",
        "\tteleport(1)\n\treturn types.ActionContinue\n}",
    )
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "import env.proxy_teleport is not provided by istio 1.28" in done.stderr


def test_platforms_older_than_envoy_1_33_are_refused(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace('version: "1.28"', 'version: "1.20"'))
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "the Go SDK needs Envoy 1.33 or newer; istio 1.20 runs Envoy 1.28" in done.stderr


def test_envoy_and_the_emulator_agree_on_the_scaffold(built: Path) -> None:
    done = ok(wasmkit("test", built, "--engine", "both"))
    assert done.stdout.splitlines()[-1] == "8 passed, 0 failed"  # 4 cases on each engine


def test_a_go_filter_that_calls_out_passes_on_both_engines(tmp_path: Path) -> None:
    """tests/fixtures/go/http_call: the Go SDK finds the answer to an HTTP call among its plugin
    (root) contexts and panics on any other id, so the emulator must answer as Envoy does."""
    project = tmp_path / "http_call"
    shutil.copytree(FIXTURES / "go" / "http_call", project)
    ok(wasmkit("build", project, "--runner", "local", timeout=900))
    done = ok(wasmkit("test", project, "--engine", "both", "--json", timeout=600))
    report = json.loads(done.stdout)
    assert report["summary"] == {"passed": 4, "failed": 0, "skipped": 2, "diverged": 0}
    emulated = [c for c in report["cases"] if c["engine"] == "emulator"]
    assert [c["passed"] for c in emulated] == [True, True, True]
