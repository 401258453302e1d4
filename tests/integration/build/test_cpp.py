"""C++: init -> build (local runner) -> wasmkit test in a real Envoy, and how builds fail."""

from __future__ import annotations

import json
import shutil
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
from wasmkit._resources import resource_dir
from wasmkit.abi import AbiVersion
from wasmkit.module import inspect_file

pytestmark = [pytest.mark.toolchain, pytest.mark.envoy]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One project built once, copied by the tests that change it."""
    project = init(tmp_path_factory.mktemp("cpp"), "cpp")
    done = ok(wasmkit("build", project, "--runner", "local", "--root-check", "envoy"))
    assert "built in" in done.stderr
    assert "root id 'add_header' registered (checked in Envoy 1.40.0)" in done.stderr
    return project


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
    assert not [i for i in info.imports if i.module != "env"], "libc++ abort paths pulled in WASI"
    done = ok(wasmkit("test", project))
    assert done.stdout.splitlines()[-1] == "4 passed, 0 failed"

    set_config(project, "world", "mars", expectations=False)
    done = wasmkit("test", project)
    assert done.returncode == 1
    assert "mars" in done.stdout + done.stderr  # the header now carries the new configuration
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("world", "mars"))
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_unchanged_inputs_skip_the_build_and_an_edit_rebuilds(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    before = (project / "build" / "filter.wasm").read_bytes()
    assert "up to date" in ok(wasmkit("build", project, "--runner", "local")).stderr
    source = project / "filter.cc"
    source.write_text(source.read_text().replace('"hello"', '"hello-again"'))
    done = ok(wasmkit("build", project, "--runner", "local"))
    assert "built in" in done.stderr
    assert (project / "build" / "filter.wasm").read_bytes() != before


def test_a_compile_error_shows_the_compiler_output(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    source = project / "filter.cc"
    source.write_text(
        source.read_text().replace("return FilterHeadersStatus::Continue;", "retrun;", 1)
    )
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "compile filter.cc with clang++-19 failed" in done.stderr
    assert "filter.cc:" in done.stderr and "error:" in done.stderr  # clang's own words
    assert "hint: fix the C++" in done.stderr


def test_a_missing_toolchain_exits_3_with_the_install_command(built: Path, tmp_path: Path) -> None:
    done = build_without_toolchains(copy(built, tmp_path), tmp_path)
    assert "clang++-19" in done.stderr
    assert "apt-get install -y --no-install-recommends clang-19 lld-19" in done.stderr


def test_a_module_importing_what_envoy_lacks_is_refused_by_name(
    built: Path, tmp_path: Path
) -> None:
    project = copy(built, tmp_path)
    source = project / "filter.cc"
    text = source.read_text().replace(
        "using namespace proxy_wasm;",
        'extern "C" uint32_t proxy_teleport(uint32_t) PROXY_WASM_IMPORT(proxy_teleport);\n'
        "using namespace proxy_wasm;",
    )
    text = text.replace(
        "    replaceRequestHeader(", "    proxy_teleport(1);\n    replaceRequestHeader("
    )
    source.write_text(text)
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "import env.proxy_teleport is not provided by istio 1.28" in done.stderr


def test_a_root_id_the_code_does_not_register_is_caught(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("rootId: add_header", "rootId: other_root"))
    for how in ("emulator", "envoy"):
        done = wasmkit("build", project, "--runner", "local", "--force", "--root-check", how)
        assert done.returncode == 2, done.stderr
        assert "root id 'other_root'" in done.stderr
        assert "no root context registered for root id 'other_root'" in done.stderr


def test_envoy_and_the_emulator_agree_on_the_scaffold(built: Path) -> None:
    done = ok(wasmkit("test", built, "--engine", "both"))
    assert done.stdout.splitlines()[-1] == "8 passed, 0 failed"  # 4 cases on each engine


def test_istio_1_5_gets_abi_0_1_0_and_still_passes(tmp_path: Path) -> None:
    project = init(tmp_path, "cpp", "1.5")
    ok(wasmkit("build", project, "--runner", "local"))
    info = inspect_file(project / "build" / "filter.wasm")
    assert info.abi_versions == (AbiVersion.V0_1_0,)
    assert info.export_signatures["proxy_on_request_headers"].params == ("i32", "i32")
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_precompiled_modules_are_checked_and_adopted(built: Path, tmp_path: Path) -> None:
    module = built / "build" / "filter.wasm"
    target = tmp_path / "imported"
    done = ok(
        wasmkit(
            "build", target, "--precompiled", module, "--root-id", "add_header", "--abi", "0.2.1"
        )
    )
    assert (target / "build" / "filter.wasm").read_bytes() == module.read_bytes()
    config = json.loads((target / "build" / "runtime-config.json").read_text())
    assert config["abiVersions"] == ["0.2.1"] and config["config"]["rootIds"] == ["add_header"]
    assert "registered" in done.stderr
    wrong_abi = wasmkit(
        "build", target, "--precompiled", module, "--root-id", "add_header", "--abi", "0.2.0"
    )
    assert wrong_abi.returncode == 2 and "does not export ABI 0.2.0" in wrong_abi.stderr
    wrong_root = wasmkit(
        "build", target, "--precompiled", module, "--root-id", "nope", "--abi", "0.2.1"
    )
    assert wrong_root.returncode == 2 and "root id 'nope'" in wrong_root.stderr
    missing = wasmkit("build", target, "--precompiled", module)
    assert missing.returncode == 2 and "needs --root-id and --abi" in missing.stderr


def test_tag_stores_the_module_in_the_local_store(built: Path, tmp_path: Path) -> None:
    project = copy(built, tmp_path)
    done = ok(wasmkit("build", project, "--runner", "local", "-t", "demo/filter:v1"))
    assert "stored as" in done.stderr and "sha256:" in done.stderr
    images = wasmkit("images")
    if images.returncode == 0:  # the image commands may land separately
        assert "demo/filter" in images.stdout


def test_a_filter_written_for_the_official_sdk_compiles_and_agrees(tmp_path: Path) -> None:
    """tests/fixtures/cpp/official_api: our own filter using the official proxy-wasm C++ SDK's
    public API (global names, LOG_*, WasmBufferType, getRequestHeaderPairs()->pairs(),
    `void onDone()`, RegisterContextFactory with root id "", a gRPC local reply), built
    unchanged against the scaffold's SDK and run on both engines."""
    project = tmp_path / "official_api"
    shutil.copytree(FIXTURES / "cpp" / "official_api", project)
    shutil.copytree(resource_dir("scaffolds") / "cpp" / "sdk", project / "sdk")
    ok(wasmkit("build", project, "--runner", "local"))
    done = ok(wasmkit("test", project, "--engine", "both", "--json"))
    report = json.loads(done.stdout)
    assert report["summary"] == {"passed": 8, "failed": 0, "skipped": 0, "diverged": 0}
