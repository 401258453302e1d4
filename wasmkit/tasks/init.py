"""``wasmkit init``: a new project that builds and passes its own tests at once.

The choices (language, platform and version, root id, name) are validated here, the ABI
is picked from the platforms table and the language's SDK, and the scaffold is rendered
by :mod:`wasmkit.scaffold`. Prompting for missing choices is the CLI's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from wasmkit.abi import PLATFORMS, AbiVersion, PlatformRelease, find_platform, platform_versions
from wasmkit.build.core import choose_abi
from wasmkit.build.languages import get_language, language_names
from wasmkit.scaffold import ScaffoldValues, check_target, render_scaffold

DEFAULT_LANGUAGE = "cpp"
DEFAULT_PLATFORM = "istio"
DEFAULT_ROOT_ID = "add_header"
DEFAULT_CONFIG = "world"


@dataclass(frozen=True)
class InitResult:
    directory: Path
    files: tuple[Path, ...]
    language: str
    platform: PlatformRelease
    abi: AbiVersion
    name: str
    root_id: str


def default_version(platform: str) -> str:
    """The newest version of ``platform`` in the table (the prompt's default)."""
    return platform_versions(platform)[-1]


def default_name(directory: Path) -> str:
    """A valid project name from a directory name: ``My Filter`` -> ``my-filter``."""
    cleaned = re.sub(r"[^a-z0-9._-]+", "-", directory.resolve().name.lower()).strip("-._")
    return cleaned[:63].rstrip("-._") or "filter"


def choices() -> dict[str, list[str]]:
    return {"language": language_names(), "platform": list(PLATFORMS)}


def init_project(
    directory: Path,
    *,
    language: str,
    platform: str,
    platform_version: str,
    root_id: str = DEFAULT_ROOT_ID,
    name: str | None = None,
    config: str = DEFAULT_CONFIG,
    force: bool = False,
) -> InitResult:
    """Validate every choice, then render the scaffold into ``directory``."""
    lang = get_language(language)
    row = find_platform(platform, platform_version)
    abi = choose_abi(lang, row)
    check_target(directory, force=force)
    from wasmkit import __version__

    values = ScaffoldValues(
        name=name or default_name(directory),
        root_id=root_id,
        language=lang.name,
        platform=row.platform,
        platform_version=row.version,
        envoy_version=row.envoy,
        abi=abi.value,
        abi_marker=abi.marker,
        config=config,
        wasmkit_version=__version__,
    )
    files = render_scaffold(lang.name, directory, values, force=force)
    return InitResult(
        directory=directory,
        files=tuple(files),
        language=lang.name,
        platform=row,
        abi=abi,
        name=values.name,
        root_id=root_id,
    )
