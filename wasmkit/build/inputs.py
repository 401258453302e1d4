"""What a build depends on, as one hash: skip a build whose inputs did not change.

The fingerprint covers the source files a language declares (``Language.sources``: path
and content), the build context (platform, ABI, root id, mode, extra args and env), the
steps as they would run and the runner. ``build/.wasmkit-build.json`` records it with
the sha256 of the module it produced; the next build with the same fingerprint and an
untouched module is skipped.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from wasmkit._atomic import write_atomic
from wasmkit.build.language import BuildContext, Language

log = logging.getLogger(__name__)

STATE_FILE = ".wasmkit-build.json"
#: Never inputs: outputs, dependency trees, VCS data.
_SKIP_DIRS = frozenset({"build", "node_modules", "target", ".git", ".cache", "__pycache__"})


def source_files(root: Path, language: Language) -> list[Path]:
    skip = _SKIP_DIRS | set(language.generated)
    found: set[Path] = set()
    for pattern in language.sources:
        for path in root.glob(pattern):
            relative = path.relative_to(root)
            if path.is_file() and not skip.intersection(relative.parts[:-1]):
                found.add(relative)
    return sorted(found)


def fingerprint(root: Path, language: Language, ctx: BuildContext, runner: str) -> str:
    from wasmkit import __version__

    h = hashlib.sha256()
    settings: dict[str, Any] = {
        "wasmkit": __version__,
        "language": language.name,
        "runner": runner,
        "platform": ctx.platform.label,
        "context": {k: v for k, v in asdict(ctx).items() if k != "platform"},
        "steps": [[list(s.argv), dict(s.env), s.cwd, s.network] for s in language.steps(ctx)],
        "artifact": language.artifact(ctx),
    }
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for relative in source_files(root, language):
        h.update(b"\0" + relative.as_posix().encode() + b"\0")
        h.update(hashlib.sha256((root / relative).read_bytes()).digest())
    return h.hexdigest()


def read_state(out: Path) -> dict[str, Any]:
    try:
        data = json.loads((out / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(out: Path, **values: Any) -> None:
    write_atomic(out / STATE_FILE, json.dumps(values, indent=2, sort_keys=True) + "\n")


def up_to_date(out: Path, module: Path, print_: str) -> bool:
    """True when ``out`` holds a module built from inputs with fingerprint ``print_``."""
    state = read_state(out)
    if state.get("fingerprint") != print_ or not module.is_file():
        return False
    current = hashlib.sha256(module.read_bytes()).hexdigest()
    if current != state.get("module_sha256"):
        log.info("%s changed since the last build; rebuilding", module)
        return False
    return True
