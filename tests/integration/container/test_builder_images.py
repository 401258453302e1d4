"""Each language's builder image holds the toolchain its steps call (built or reused here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmkit.build.container import ContainerRunner
from wasmkit.build.engine import Engine
from wasmkit.build.images import builder_image
from wasmkit.build.runner import Step, Workspace

pytestmark = [pytest.mark.container, pytest.mark.slow]

#: language -> (command, text its output must contain)
TOOLCHAINS = {
    "cpp": (("clang++-19", "--version"), "clang version 19."),
    "assemblyscript": (("sh", "-c", "node --version && npm --version"), "v18."),
    "rust": (
        (
            "sh",
            "-c",
            "/usr/bin/cargo --version && $RUSTC --version && rust-lld -flavor wasm --version",
        ),
        "LLD 22.",
    ),
    "go": (("go", "version"), "go1.24."),
}


@pytest.mark.parametrize("language", sorted(TOOLCHAINS))
def test_builder_image_has_the_toolchain(
    engine: Engine, base_image: str, language: str, workspace: Workspace
) -> None:
    runner = ContainerRunner(builder_image(language, base=base_image), engine=engine)
    argv, expected = TOOLCHAINS[language]
    result = runner.run(Step(argv), workspace)
    assert result.returncode == 0, result.output
    assert expected in result.output


def test_cpp_builder_compiles_a_reactor_module(
    engine: Engine, base_image: str, workspace: Workspace
) -> None:
    """The cpp image's clang, wasi-libc and libc++ link a module, offline, into {out}."""
    Path(workspace.src / "lib.cc").write_text(
        "#include <string>\n"
        'extern "C" __attribute__((export_name("size"))) int size() {'
        ' return std::string("hello").size(); }\n'
    )
    argv = (
        "clang++-19", "--target=wasm32-wasi", "-mexec-model=reactor", "-std=c++17", "-O2",
        "-fno-exceptions", "-Wl,--strip-all", "-o", "{out}/lib.wasm", "{src}/lib.cc",
    )  # fmt: skip
    runner = ContainerRunner(builder_image("cpp", base=base_image), engine=engine)
    result = runner.run(Step(argv), workspace)
    assert result.returncode == 0, result.output
    module = (workspace.out / "lib.wasm").read_bytes()
    assert module.startswith(b"\0asm")
