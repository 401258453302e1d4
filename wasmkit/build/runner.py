"""Where a build step runs: on this machine, or in a builder container.

A :class:`Step` is a command with placeholders, independent of where it runs:
``{src}`` (the project root), ``{out}`` (the build output directory) and
``{cache}`` (a persistent per-language cache: Rust std and target dirs, npm,
Go modules, clang objects). A runner maps them: the local runner to host paths,
the container runner to bind mounts (/src, /out, /cache).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Step:
    """One command of a build."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: str = "{src}"
    description: str = ""
    #: The step fetches dependencies (npm install, cargo fetch, go mod download). The container
    #: runner gives only such steps the host's network (and trust store); others run offline.
    network: bool = False


@dataclass(frozen=True)
class Workspace:
    """Host paths a runner maps the placeholders to."""

    src: Path
    out: Path
    cache: Path

    def expand(
        self, text: str, *, src: str | None = None, out: str | None = None, cache: str | None = None
    ) -> str:
        return (
            text.replace("{src}", src or str(self.src))
            .replace("{out}", out or str(self.out))
            .replace("{cache}", cache or str(self.cache))
        )


@dataclass(frozen=True)
class StepResult:
    step: Step
    argv: tuple[str, ...]  # as run, placeholders expanded
    returncode: int
    output: str  # stdout and stderr, interleaved
    duration_s: float


OutputSink = Callable[[str], None]


class Runner(Protocol):
    name: str  # "local" | "container"

    def run(
        self, step: Step, workspace: Workspace, *, on_output: OutputSink | None = None
    ) -> StepResult:
        """Run one step; never raise for a non-zero exit (the builder decides)."""
        ...
