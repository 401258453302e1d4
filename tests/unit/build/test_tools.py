"""Tool lookup for the local runner's pre-flight and doctor."""

from __future__ import annotations

import os
from pathlib import Path

from wasmkit.build.language import Tool
from wasmkit.build.languages import get_language
from wasmkit.build.tools import missing_tools, tool_path


def test_a_path_without_the_compiler_misses_it(tmp_path: Path) -> None:
    missing = missing_tools(get_language("cpp"), str(tmp_path))
    assert "clang++-19" in [t.label for t in missing]
    assert all(t.install.startswith("apt-get install") for t in missing)


def test_files_and_commands(tmp_path: Path) -> None:
    program = tmp_path / "mycc"
    program.write_text("#!/bin/sh\n")
    os.chmod(program, 0o755)
    lib = tmp_path / "libc.a"
    assert tool_path(Tool("mycc", install="x"), str(tmp_path)) == str(program)
    assert tool_path(Tool(None, install="x", files=(str(lib),))) is None
    lib.write_text("")
    assert tool_path(Tool(None, install="x", files=(str(lib),))) == str(lib)
    assert (
        tool_path(Tool("mycc", install="x", files=(str(tmp_path / "no"),)), str(tmp_path)) is None
    )
