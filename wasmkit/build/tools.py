"""Which toolchains are on this machine: for the local runner's pre-flight and ``doctor``."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from wasmkit.build.language import Language, Tool


def tool_path(tool: Tool, path: str | None = None) -> str | None:
    """Where ``tool`` is, or None. Files must all exist; a command must be on ``path``."""
    if any(not os.path.exists(f) for f in tool.files):
        return None
    if tool.command is None:
        return tool.files[0] if tool.files else None
    return shutil.which(tool.command, path=path)


def missing_tools(language: Language, path: str | None = None) -> list[Tool]:
    return [tool for tool in language.tools if tool_path(tool, path) is None]


@dataclass(frozen=True)
class ToolStatus:
    tool: Tool
    path: str | None
    version: str = ""

    @property
    def present(self) -> bool:
        return self.path is not None


def probe(tool: Tool, path: str | None = None, *, timeout_s: float = 10.0) -> ToolStatus:
    """Find ``tool`` and ask it for its version (first line of ``--version``)."""
    where = tool_path(tool, path)
    if where is None or tool.command is None or not tool.version_args:
        return ToolStatus(tool, where)
    try:
        result = subprocess.run(
            [where, *tool.version_args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ToolStatus(tool, where, "(does not answer --version)")
    lines = (result.stdout or result.stderr).strip().splitlines()
    return ToolStatus(tool, where, lines[0].strip() if lines else "")
