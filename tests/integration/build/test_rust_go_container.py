"""Rust and Go through the container runner: the pinned builder image (podman serving the Docker
API in CI) builds the scaffold, and the module passes its tests in a real Envoy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli import ok, wasmkit
from tests.integration.build.conftest import init
from wasmkit.loadcheck import load_problems
from wasmkit.module import inspect_file

pytestmark = [pytest.mark.container, pytest.mark.envoy, pytest.mark.slow]


@pytest.mark.parametrize(("language", "abi"), [("rust", "0.2.1"), ("go", "0.2.0")])
def test_scaffold_builds_in_its_builder_image_and_passes(
    tmp_path: Path, language: str, abi: str
) -> None:
    project = init(tmp_path, language)
    done = ok(wasmkit("build", project, "--runner", "container", timeout=1200))
    assert "runner container" in done.stderr
    info = inspect_file(project / "build" / "filter.wasm")
    assert [v.value for v in info.abi_versions] == [abi]
    assert load_problems(info) == []
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_a_rust_compile_error_in_the_container_shows_rustc_output(tmp_path: Path) -> None:
    project = init(tmp_path, "rust")
    source = project / "src" / "lib.rs"
    source.write_text(source.read_text().replace("self.greeting = text;", "self.greeting = txet;"))
    done = wasmkit("build", project, "--runner", "container", timeout=1200)
    assert done.returncode == 2, done.stderr
    assert "error[E0425]: cannot find value `txet`" in done.stderr
