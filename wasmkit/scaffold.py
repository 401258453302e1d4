"""Render a new project from ``scaffolds/<language>/`` with jinja2 (sandboxed).

A scaffold is a plain directory tree. Files ending in ``.j2`` are templates (rendered,
suffix dropped); every other file is copied byte for byte. ``scaffolds/_common/`` is
rendered first and the language's tree on top, so what every language shares (the
``wasmkit.yaml`` test suite, .gitignore) is written once; a language overrides a common
file by having one of the same name.

Template variables (:class:`ScaffoldValues`): ``name``, ``root_id``, ``language``,
``platform``, ``platform_version``, ``envoy_version``, ``abi`` (e.g. ``0.2.1``),
``abi_marker`` (``proxy_abi_version_0_2_1``), ``config`` and ``wasmkit_version``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from wasmkit._atomic import write_atomic
from wasmkit._resources import resource_dir
from wasmkit._templates import Templates
from wasmkit.errors import UsageError

log = logging.getLogger(__name__)

COMMON = "_common"
TEMPLATE_SUFFIX = ".j2"
NAME_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$")
#: Empty is a root id too: the one every official SDK example registers with.
ROOT_ID_PATTERN = re.compile(r"^([A-Za-z_][A-Za-z0-9_.-]{0,127})?$")


@dataclass(frozen=True)
class ScaffoldValues:
    name: str
    root_id: str
    language: str
    platform: str
    platform_version: str
    envoy_version: str
    abi: str
    abi_marker: str
    config: str = "world"
    wasmkit_version: str = ""


def scaffold_languages() -> list[str]:
    """Languages that have a scaffold tree."""
    root = resource_dir("scaffolds")
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("_"))


def check_target(target: Path, *, force: bool) -> None:
    """Refuse a non-empty directory unless ``force`` (UsageError, exit 2)."""
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory", hint="pick another path")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise UsageError(
            f"{target} is not empty",
            hint="pick a new directory, or pass --force to write the scaffold into it "
            "(files of the same name are overwritten)",
        )


def _files(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            found[path.relative_to(root).as_posix()] = path
    return found


def render_scaffold(
    language: str,
    target: Path,
    values: ScaffoldValues,
    *,
    force: bool = False,
    scaffolds_root: Path | None = None,
) -> list[Path]:
    """Write the scaffold for ``language`` into ``target``; return the files written."""
    root = scaffolds_root or resource_dir("scaffolds")
    lang_dir = root / language
    if not lang_dir.is_dir():
        available = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != COMMON)
        raise UsageError(
            f"no scaffold for language {language!r}",
            hint=f"use one of: {', '.join(available)}",
        )
    if not NAME_PATTERN.match(values.name):
        raise UsageError(
            f"project name {values.name!r} is not valid",
            hint="use lowercase letters, digits, '.', '_' or '-' (at most 63), e.g. my-filter",
        )
    if not ROOT_ID_PATTERN.match(values.root_id):
        raise UsageError(
            f"root id {values.root_id!r} is not valid",
            hint="use letters, digits and '_' (start with a letter), e.g. add_header, "
            'or "" (the empty root id)',
        )
    check_target(target, force=force)
    sources: dict[str, Path] = {}
    layers = [root / COMMON, lang_dir] if (root / COMMON).is_dir() else [lang_dir]
    for layer in layers:
        sources.update(_files(layer))
    templates = Templates(layers[::-1])  # the language's own file wins over a common one
    context = asdict(values)
    rendered: dict[Path, bytes] = {}
    for relative, source in sources.items():
        if relative.endswith(TEMPLATE_SUFFIX):
            text = templates.render(
                relative,
                context,
                label=f"scaffold template {source}",
                hint="this is a bug in wasmkit's scaffold; please report it",
            )
            rendered[target / relative[: -len(TEMPLATE_SUFFIX)]] = text.encode()
        else:
            rendered[target / relative] = source.read_bytes()
    written = []
    for path, data in rendered.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
        src = sources.get(path.relative_to(target).as_posix())
        if src is not None and os.access(src, os.X_OK):
            shutil.copymode(src, path)
        written.append(path)
    log.info("wrote %d files into %s", len(written), target)
    return written
