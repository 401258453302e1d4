"""Run the wasmkit CLI as a user does: a subprocess of this Python, output captured, no stdin.

The one helper for integration tests that drive the command line; ``env`` adds to (or
overrides) this process's environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def wasmkit(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wasmkit", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``done`` if it exited 0; else fail with its exit code and output."""
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done
