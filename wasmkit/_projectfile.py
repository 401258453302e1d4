"""Where a project's ``wasmkit.yaml`` is, without reading it.

:mod:`wasmkit.project` validates the file (pydantic); a command that only needs to find it
(``wasmkit test`` keys its early Envoy start on the file's bytes before any model loads)
asks here.
"""

from __future__ import annotations

from pathlib import Path

from wasmkit.errors import UsageError

PROJECT_FILE = "wasmkit.yaml"


def find_project_file(start: Path) -> Path:
    path = start / PROJECT_FILE if start.is_dir() else start
    if not path.is_file():
        raise UsageError(
            f"no {PROJECT_FILE} in {start}",
            hint="run inside a project made by `wasmkit init`, or pass --module and --file",
        )
    return path
