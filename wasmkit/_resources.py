"""Where the non-Python assets (Envoy harness templates, scaffolds) live.

They sit at the top of the source tree (``harness/``, ``scaffolds/``) so that
they read as part of the product's design; ``wasmkit/_data/<name>`` links to them,
so a checkout and an installed wheel find them at the same place.
``WASMKIT_RESOURCES`` points at another tree.
"""

from __future__ import annotations

import os
from pathlib import Path

from wasmkit.errors import EnvironmentProblem

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the directory of asset tree ``name`` (``harness`` or ``scaffolds``)."""
    candidates = []
    override = os.environ.get("WASMKIT_RESOURCES")
    if override:
        candidates.append(Path(override) / name)
    candidates += [_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise EnvironmentProblem(
        f"wasmkit's {name}/ assets are missing (looked in {', '.join(map(str, candidates))})",
        hint="reinstall wasmkit (pip install -e . from a checkout), or set WASMKIT_RESOURCES",
    )
