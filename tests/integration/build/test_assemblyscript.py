"""AssemblyScript: init -> build (local runner, npm cached) -> wasmkit test in a real Envoy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.build.conftest import init, ok, wasmkit
from wasmkit.abi import AbiVersion
from wasmkit.module import inspect_file

pytestmark = [pytest.mark.toolchain, pytest.mark.envoy, pytest.mark.slow]


def test_scaffold_builds_passes_its_tests_and_follows_the_config(tmp_path: Path) -> None:
    project = init(tmp_path, "assemblyscript", "1.31")
    done = ok(wasmkit("build", project, "--runner", "local"))
    assert "root id 'add_header' registered" in done.stderr
    info = inspect_file(project / "build" / "filter.wasm")
    assert info.abi_versions == (AbiVersion.V0_2_0,)
    assert "env.abort" not in [i.qualified for i in info.imports]
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"

    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("config: world\n", "config: mars\n"))
    done = wasmkit("test", project)
    assert done.returncode == 1 and "mars" in done.stdout + done.stderr
    path.write_text(path.read_text().replace("world", "mars"))
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"
    # The emulator runs the scaffold's suite as Envoy does.
    both = ok(wasmkit("test", project, "--engine", "both"))
    assert both.stdout.splitlines()[-1] == "8 passed, 0 failed"


def test_a_root_id_mismatch_is_caught_by_envoy_at_build_time(tmp_path: Path) -> None:
    project = init(tmp_path, "assemblyscript", "1.20")
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("rootId: add_header", "rootId: other_root"))
    done = wasmkit("build", project, "--runner", "local", "--debug")
    assert done.returncode == 2, done.stderr
    assert "Missing root context factory for root id: other_root" in done.stderr


def test_a_type_error_shows_the_compiler_output(tmp_path: Path) -> None:
    project = init(tmp_path, "assemblyscript", "1.28")
    source = project / "assembly" / "index.ts"
    source.write_text(source.read_text().replace("this.value = String", "this.value = 42 + String"))
    done = wasmkit("build", project, "--runner", "local", "--debug")
    assert done.returncode == 2, done.stderr
    assert "compile assembly/index.ts with asc failed" in done.stderr
    assert "ERROR" in done.stderr and "index.ts" in done.stderr
