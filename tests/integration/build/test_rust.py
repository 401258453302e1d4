"""Rust: init -> build (local runner, Debian's cargo building std) -> wasmkit test in a real
Envoy, and how Rust builds fail."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.integration.build.conftest import (
    build_without_toolchains,
    copy,
    init,
    ok,
    set_config,
    wasmkit,
)
from wasmkit.abi import AbiVersion
from wasmkit.loadcheck import load_problems
from wasmkit.module import inspect_file

pytestmark = [pytest.mark.toolchain, pytest.mark.envoy, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project built once (std comes from the shared cache), copied by the tests."""
    project = init(tmp_path_factory.mktemp("rust"), "rust")
    done = ok(wasmkit("build", project, "--runner", "local", timeout=900))
    assert "built in" in done.stderr
    return project


def edit(project: Path, old: str, new: str) -> None:
    source = project / "src" / "lib.rs"
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new, 1))


def test_scaffold_builds_and_passes_its_tests_then_follows_the_config(
    built: Path, tmp_path: Path
) -> None:
    project = copy(built, tmp_path)
    assert json.loads((project / "build" / "runtime-config.json").read_text()) == {
        "type": "envoy_proxy",
        "abiVersions": ["0.2.1"],
        "config": {"rootIds": ["add_header"]},
    }
    info = inspect_file(project / "build" / "filter.wasm")
    assert info.abi_versions == (AbiVersion.V0_2_1,)
    assert info.start == "_initialize" and info.allocator == "proxy_on_memory_allocate"
    assert load_problems(info) == []
    wasi = {i.name for i in info.imports if i.module == "wasi_snapshot_preview1"}
    assert wasi <= {"fd_write", "environ_get", "environ_sizes_get", "proc_exit"}, wasi
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"

    set_config(project, "world", "mars", expectations=False)
    done = wasmkit("test", project)
    assert done.returncode == 1
    assert "mars" in done.stdout + done.stderr  # the header now carries the new configuration
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("world", "mars"))
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_an_edit_rebuilds_only_the_crate_and_changes_the_behaviour(
    built: Path, tmp_path: Path
) -> None:
    project = copy(built, tmp_path)
    unchanged = ok(wasmkit("build", project, "--runner", "local")).stderr
    assert "up to date" in unchanged, unchanged
    edit(project, '.set_http_response_header("hello",', '.set_http_response_header("hola",')
    done = ok(wasmkit("build", project, "--runner", "local", "-v"))
    output = done.stdout + done.stderr
    assert "Compiling rust-istio-1-28" in output, output
    # std is cached
    assert "Compiling std" not in output and "Compiling core" not in output, output
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("headers: {hello: world}", "headers: {hola: world}"))
    done = wasmkit("test", project)
    assert done.returncode == 1  # the per-case configuration still expects `hello`
    assert "PASS  adds the hello header from the plugin configuration" in done.stdout


def test_a_compile_error_shows_the_compiler_output(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    edit(project, "self.greeting = text;", "self.greeting = txet;")
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "cargo build (std built from source) failed" in done.stderr
    assert "error[E0425]: cannot find value `txet`" in done.stderr  # rustc's own words
    assert "src/lib.rs:" in done.stderr
    assert "hint: fix the Rust" in done.stderr


def test_a_missing_toolchain_exits_3_with_the_install_command(built: Path, tmp_path: Path) -> None:
    done = build_without_toolchains(copy(built, tmp_path), tmp_path)
    assert "rust-lld" in done.stderr
    assert "apt-get install -y --no-install-recommends rustc-web cargo-web" in done.stderr
    assert "lld-22" in done.stderr


def test_a_module_importing_what_envoy_lacks_is_refused_by_name(
    built: Path, tmp_path: Path
) -> None:
    project = copy(built, tmp_path)
    edit(
        project,
        "/// One per HTTP request.",
        '#[link(wasm_import_module = "env")]\nextern "C" {\n    fn proxy_teleport(x: u32) -> u32;\n}'
        "\n\n/// One per HTTP request.",
    )
    edit(project, "Action::Continue", "unsafe { proxy_teleport(1) };\n        Action::Continue")
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "import env.proxy_teleport is not provided by istio 1.28" in done.stderr


def test_the_crate_serves_any_root_id(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("rootId: add_header", "rootId: other_root"))
    ok(wasmkit("build", project, "--runner", "local", "--force"))
    config = json.loads((project / "build" / "runtime-config.json").read_text())
    assert config["config"]["rootIds"] == ["other_root"]
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_istio_1_7_is_refused_because_the_crate_speaks_only_0_2_1(
    built: Path, tmp_path: Path
) -> None:
    refused = "exports ABI 0.2.1; istio 1.7 accepts only 0.1.0, 0.2.0"
    done = wasmkit(
        "init", tmp_path / "new", "-l", "rust", "-p", "istio", "--platform-version", "1.7"
    )
    assert done.returncode == 2 and refused in done.stderr, done.stderr
    assert not (tmp_path / "new" / "Cargo.toml").exists()
    project = copy(built, tmp_path)  # an existing project moved to an older platform
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace('version: "1.28"', 'version: "1.7"'))
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2 and refused in done.stderr, done.stderr


def test_a_copied_project_never_reuses_its_twins_build(built: Path, tmp_path: Path) -> None:
    """Same package name and version, one shared target dir, older mtimes in the copy."""
    twin = copy(built, tmp_path / "twin")
    edit(twin, '.set_http_response_header("hello",', '.set_http_response_header("hola",')
    ok(wasmkit("build", twin, "--runner", "local"))
    assert b"hola" in (twin / "build" / "filter.wasm").read_bytes()
    project = copy(built, tmp_path / "copy")  # copytree keeps the fixture's (older) mtimes
    ok(wasmkit("build", project, "--runner", "local", "--force"))
    assert b"hola" not in (project / "build" / "filter.wasm").read_bytes()
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_envoy_and_the_emulator_agree_on_the_scaffold(built: Path) -> None:
    done = ok(wasmkit("test", built, "--engine", "both"))
    assert done.stdout.splitlines()[-1] == "8 passed, 0 failed"  # 4 cases on each engine


def test_a_build_never_hands_out_another_projects_module(tmp_path: Path) -> None:
    """Two projects whose libraries are both called `filter` share the cargo target dir:
    after `rm -rf build`, A's unchanged sources must give A's module again, not B's."""
    a, b = tmp_path / "a", tmp_path / "b"
    for project in (a, b):
        ok(wasmkit("init", project, "-l", "rust", "-p", "istio", "--platform-version", "1.28"))
    edit(a, '.set_http_response_header("hello",', '.set_http_response_header("hola",')
    ok(wasmkit("build", a, "--runner", "local", timeout=900))
    a_module = (a / "build" / "filter.wasm").read_bytes()
    assert b"hola" in a_module
    ok(wasmkit("build", b, "--runner", "local"))
    assert b"hola" not in (b / "build" / "filter.wasm").read_bytes()
    shutil.rmtree(a / "build")
    ok(wasmkit("build", a, "--runner", "local"))
    rebuilt = (a / "build" / "filter.wasm").read_bytes()
    assert hashlib.sha256(rebuilt).hexdigest() == hashlib.sha256(a_module).hexdigest()
