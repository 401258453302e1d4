"""`wasmkit init` -> `wasmkit build --runner container` -> `wasmkit test`, against podman.

The issue asks for C++ and AssemblyScript at least through the container runner; all four
languages run here with the real CLI, the real builder images and the real Envoy. The build
caches live apart from the local runner's (``XDG_CACHE_HOME``): Rust's target directory
records absolute paths, and the two runners see the cache under different ones.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli import wasmkit as _wasmkit
from wasmkit.build.engine import Engine

pytestmark = [pytest.mark.container, pytest.mark.envoy, pytest.mark.slow]


def wasmkit(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _wasmkit(*args, cwd=cwd, env=env, timeout=900)


#: Kept between runs (a cold Rust std build takes about a minute), apart from the local runner's.
CACHE = Path.home() / ".cache" / "wasmkit-container-tests"


@pytest.mark.parametrize("language", ["cpp", "assemblyscript", "rust", "go"])
def test_scaffold_builds_in_container_and_passes_its_tests(
    engine: Engine, base_image: str, language: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DOCKER_HOST": engine.url, "XDG_CACHE_HOME": str(CACHE)}
    env["WASMKIT_BUILDER_BASE"] = base_image
    project = tmp_path / "filter"
    init = wasmkit(
        "init", str(project), "--language", language, "--platform", "istio",
        "--platform-version", "1.28", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    build = wasmkit("build", str(project), "--runner", "container", cwd=tmp_path, env=env)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "runner container" in build.stdout + build.stderr
    module = project / "build" / "filter.wasm"
    assert module.read_bytes().startswith(b"\0asm")
    test = wasmkit("test", str(project), cwd=tmp_path, env=env)
    assert test.returncode == 0, test.stdout + test.stderr

    # Another configuration, and expectations to match: the header follows it.
    manifest = project / "wasmkit.yaml"
    text = manifest.read_text()
    assert "hello: world" in text
    manifest.write_text(text.replace("world", "from-the-container"))
    changed = wasmkit("test", str(project), cwd=tmp_path, env=env)
    assert changed.returncode == 0, changed.stdout + changed.stderr


def test_compile_error_in_container_shows_the_compiler_output(
    engine: Engine, base_image: str, tmp_path: Path
) -> None:
    env = {**os.environ, "DOCKER_HOST": engine.url}
    env["WASMKIT_BUILDER_BASE"] = base_image
    project = tmp_path / "broken"
    init = wasmkit(
        "init", str(project), "--language", "cpp", "--platform", "envoy",
        "--platform-version", "1.40", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert init.returncode == 0, init.stderr
    source = project / "filter.cc"
    source.write_text(source.read_text() + "\nthis is not C++;\n")
    build = wasmkit("build", str(project), "--runner", "container", cwd=tmp_path, env=env)
    assert build.returncode != 0
    # clang's own message, naming the user's file (not the container's /src/filter.cc)
    assert f"{project}/filter.cc:" in build.stderr and "error:" in build.stderr
    assert "/src/filter.cc" not in build.stderr.replace(str(project), "")
