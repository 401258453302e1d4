"""Helpers for the hostile-input tests: digests that are paths, and what a directory holds."""

from __future__ import annotations

import os
from pathlib import Path


def traversal_digest(start: Path, target: Path) -> str:
    """``sha256:`` and exactly 64 characters that, joined to ``start``, name ``target``."""
    relative = os.path.relpath(target, start)
    padding = 64 - len(relative)
    assert padding >= 0, f"{relative} is too long to fit in a digest"
    return "sha256:" + "./" * (padding // 2) + "/" * (padding % 2) + relative


def snapshot(root: Path, *, exclude: Path) -> dict[str, bytes]:
    """Every file under ``root`` but ``exclude``, by relative path, with its bytes."""
    out: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path == exclude or exclude in path.parents or not path.is_file():
            continue
        out[str(path.relative_to(root))] = path.read_bytes()
    return out
