"""Istio's binaries for one release: find them, or build them once from the Go module proxy.

A release is a directory holding ``pilot-discovery`` (istiod), ``pilot-agent`` (Istio's agent),
``istio-check`` (wasmkit's checker: Istio's own validation code, ``harness/istio-check``) and
Istio's CRDs (``crd-all.gen.yaml``). Order: explicit paths (``--istiod`` / ``WASMKIT_ISTIOD``,
``--istio-agent`` / ``WASMKIT_ISTIO_AGENT``), then ``<cache>/<version>/`` where the cache is
``WASMKIT_ISTIO_CACHE`` or ``~/.cache/wasmkit/istio``.

:func:`install_istio` obtains istiod and the agent from Istio's published container images
(:mod:`wasmkit.istio.images`, wasmkit's OCI client) when their registry answers, and otherwise
builds them: a wrapper Go module that requires ``istio.io/istio`` at the release's
pseudo-version (Istio's tags have no ``v``), built with Istio's own build tags. istio-check and
the CRDs always come from the build path. This module is the only place that recipe is
written down; CI's ``.ci/setup.d/55-istio.sh`` calls it through ``wasmkit istio install``.
Cold build: ~10 min and ~2 GB of Go build cache on two cores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from wasmkit._atomic import copy_atomic, temp_sibling, write_atomic
from wasmkit._resources import resource_dir
from wasmkit.abi import release_minor
from wasmkit.errors import (
    ManifestUnknown,
    ProcessFailed,
    ServiceUnavailable,
    ToolNotFound,
    UsageError,
)
from wasmkit.module import cache_dir

log = logging.getLogger(__name__)

#: Istio release -> the pseudo-version the Go module proxy serves for its tag.
MODULE_VERSIONS: dict[str, str] = {
    "1.29.1": "v0.0.0-20260306174214-6991a379e1fc",
    "1.28.3": "v0.0.0-20260114100434-4c1f845d839e",
    "1.28.2": "v0.0.0-20251217200826-ab413ac6c1f4",
}

ISTIOD = "pilot-discovery"
AGENT = "pilot-agent"
CHECK = "istio-check"
CRDS = "crd-all.gen.yaml"
#: The hash of the istio-check sources a binary was built from (rebuilt when they change).
CHECK_STAMP = "istio-check.src-sha256"

# Istio's own build tags for each binary (from its Makefile), and the version it reports.
_TAGS = {ISTIOD: "vtprotobuf,disable_pgv", AGENT: "agent,disable_pgv,grpcnotrace,retrynotrace"}
_PACKAGES = {
    ISTIOD: "istio.io/istio/pilot/cmd/pilot-discovery",
    AGENT: "istio.io/istio/pilot/cmd/pilot-agent",
}
_BUILD_TIMEOUT_S = 3600
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")


def install_hint(version: str) -> str:
    return (
        f"run `wasmkit istio install {version}` once (istiod and the agent from Istio's images, "
        "or built from the Go module proxy: ~10 min), or point --istiod / WASMKIT_ISTIOD at a "
        "pilot-discovery binary"
    )


@dataclass(frozen=True)
class IstioRelease:
    """The binaries of one Istio release on this machine."""

    version: str  # "1.29.1"
    istiod: Path
    agent: Path | None = None
    check: Path | None = None
    crds: Path | None = None
    #: How install_istio obtained istiod and the agent: the image references, "build", "cached".
    obtained: tuple[str, ...] = ()

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])


def istio_cache() -> Path:
    override = os.environ.get("WASMKIT_ISTIO_CACHE")
    return Path(override) if override else cache_dir() / "istio"


def resolve_version(version: str) -> str:
    """``1.29`` or ``1.29.x`` -> the newest release of that minor on this machine, else the
    newest wasmkit knows; ``1.29.1`` as it is. A version reads as everywhere else
    (``abi.release_minor``)."""
    minor = release_minor(version)
    if minor is None:
        raise UsageError(
            f"{version!r} is not an Istio version", hint="for example --istio 1.29 or 1.29.1"
        )
    exact = _VERSION.match(version.strip().lstrip("v"))
    if exact and exact.group(3) is not None:
        return exact.group(0)
    prefix = f"{minor[0]}.{minor[1]}."
    known = sorted(
        (v for v in MODULE_VERSIONS if v.startswith(prefix)),
        key=lambda v: int(v.rsplit(".", 1)[1]),
    )
    cached = sorted(
        (d.name for d in _cache_dirs() if d.name.startswith(prefix)),
        key=lambda v: int(v.rsplit(".", 1)[1]) if v.rsplit(".", 1)[1].isdigit() else -1,
    )
    for candidates in (cached, known):
        if candidates:
            return candidates[-1]
    raise UsageError(
        f"wasmkit knows no Istio {version} release",
        hint="known: " + ", ".join(sorted(MODULE_VERSIONS)),
    )


def _cache_dirs() -> list[Path]:
    cache = istio_cache()
    return [d for d in cache.iterdir() if d.is_dir()] if cache.is_dir() else []


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _explicit(value: str | None, env: str) -> Path | None:
    chosen = value or os.environ.get(env)
    if not chosen:
        return None
    path = Path(chosen)
    if not _executable(path):
        found = shutil.which(chosen)
        if found is None:
            raise ToolNotFound(f"{chosen} (from {env} or its flag) is not an executable file")
        path = Path(found)
    return path.resolve()


def find_istio(
    version: str, *, istiod: str | None = None, agent: str | None = None
) -> IstioRelease:
    """The binaries of Istio ``version``; :class:`ToolNotFound` (exit 3) if istiod is missing."""
    exact = resolve_version(version)
    directory = istio_cache() / exact

    def cached(name: str) -> Path | None:
        path = directory / name
        return path if _executable(path) else None

    found_istiod = _explicit(istiod, "WASMKIT_ISTIOD") or cached(ISTIOD)
    if found_istiod is None:
        raise ToolNotFound(f"istiod {exact} is not installed here", hint=install_hint(exact))
    crds = directory / CRDS
    return IstioRelease(
        exact,
        found_istiod,
        agent=_explicit(agent, "WASMKIT_ISTIO_AGENT") or cached(AGENT),
        check=cached(CHECK),
        crds=crds if crds.is_file() else None,
    )


def ready_releases() -> list[IstioRelease]:
    """Every release in the cache that has at least istiod (for ``wasmkit doctor``)."""
    ready = []
    for directory in sorted(_cache_dirs()):
        if _VERSION.match(directory.name) and _executable(directory / ISTIOD):
            ready.append(find_istio(directory.name))
    return ready


def check_sources() -> list[Path]:
    return sorted((resource_dir("harness") / "istio-check").glob("*.go"))


def _sources_hash(sources: list[Path]) -> str:
    digest = hashlib.sha256()
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def _go() -> Path:
    found = shutil.which("go") or (
        "/usr/local/go/bin/go" if _executable(Path("/usr/local/go/bin/go")) else None
    )
    if found is None:
        raise ToolNotFound(
            "building Istio needs Go 1.25 or newer, and no `go` was found",
            hint="install Go from https://go.dev/dl/ (or Debian's golang), then retry",
        )
    return Path(found)


Step = Callable[[str], None]
#: auto: the images when their registry answers, else the build; image: only the images
#: (istiod and the agent); build: only the Go module proxy.
Source = Literal["auto", "image", "build"]
#: (version, target, name, step) -> the image it came from: takes a binary out of its image
#: (wasmkit.tasks.istio, which has the OCI client) and installs it with images.place_binary.
FromImages = Callable[[str, Path, str, Step], str]


def install_istio(
    version: str,
    *,
    into: Path | None = None,
    on_step: Step | None = None,
    source: Source = "auto",
    from_images: FromImages | None = None,
) -> IstioRelease:
    """Obtain what is missing of Istio ``version`` into ``into`` (default: the cache) and return it.

    Each binary is written to a temporary name and renamed into place, so a cut-short install
    never leaves a binary that looks ready; istio-check is rebuilt when its sources change.
    istiod and the agent come from ``from_images`` when given (``source`` auto or image); with
    ``source="auto"`` an unreachable registry (or a release it lacks) is logged and the build
    path used instead.
    """
    exact = resolve_version(version)
    target = (into or istio_cache() / exact).resolve()
    target.mkdir(parents=True, exist_ok=True)
    step = on_step or log.info
    wanted = [name for name in (ISTIOD, AGENT) if not _executable(target / name)]
    obtained = [] if wanted else ["cached"]
    if source == "image" and from_images is None:
        raise UsageError("installing from images needs an image fetcher", hint="use the CLI")
    if from_images is not None and source != "build":
        obtained += _from_images(from_images, exact, target, wanted, step, source)
    if source == "image":
        return _release(exact, target, tuple(obtained))
    if any(not _executable(target / name) for name in (ISTIOD, AGENT)):
        obtained.append("build")
    _build_missing(exact, target, step)
    return _release(exact, target, tuple(obtained))


def _from_images(
    fetch: FromImages, version: str, target: Path, names: list[str], step: Step, source: Source
) -> list[str]:
    """Each of ``names`` from its image, in turn; with ``source="auto"`` an unreachable
    registry (or one without the release) stops here and leaves the rest to the build."""
    used = []
    for name in names:
        try:
            used.append(fetch(version, target, name, step))
        except (ServiceUnavailable, ManifestUnknown) as exc:
            if source == "image":
                raise
            step(f"the image is out of reach ({exc}); building from the Go module proxy instead")
            break
    return used


def _release(version: str, target: Path, obtained: tuple[str, ...]) -> IstioRelease:
    return IstioRelease(
        version,
        target / ISTIOD,
        agent=target / AGENT if _executable(target / AGENT) else None,
        check=target / CHECK if _executable(target / CHECK) else None,
        crds=target / CRDS if (target / CRDS).is_file() else None,
        obtained=obtained,
    )


def _build_missing(exact: str, target: Path, step: Step) -> None:
    """Build what is missing in ``target`` (binaries, a stale istio-check, the CRDs)."""
    pseudo = MODULE_VERSIONS.get(exact)
    if pseudo is None:
        raise UsageError(
            f"wasmkit does not know the Go module version of Istio {exact}",
            hint="known: " + ", ".join(sorted(MODULE_VERSIONS)),
        )
    sources = check_sources()
    stamp = _sources_hash(sources)
    stamp_path = target / CHECK_STAMP
    wanted = [name for name in (ISTIOD, AGENT) if not _executable(target / name)]
    check_stale = bool(sources) and not (
        _executable(target / CHECK)
        and stamp_path.is_file()
        and stamp_path.read_text().strip() == stamp
    )
    if wanted or check_stale or not (target / CRDS).is_file():
        _build(exact, pseudo, target, wanted, sources if check_stale else [], step)
        if check_stale:
            write_atomic(stamp_path, stamp + "\n")


def _build(
    version: str, pseudo: str, target: Path, binaries: list[str], check: list[Path], step: Step
) -> None:
    go = _go()
    env = {
        **os.environ,
        "GONOSUMDB": "istio.io/istio,github.com/openshift/api",  # absent from the checksum DB
        "CGO_ENABLED": "0",
        "GOFLAGS": "-mod=mod",
    }
    ldflags = f"-s -w -X istio.io/istio/pkg/version.buildVersion={version}"
    log_path = target / "build.log"
    with tempfile.TemporaryDirectory(prefix="wasmkit-istio-") as tmp, log_path.open("ab") as out:
        src = Path(tmp)
        (src / "go.mod").write_text(
            f"module wasmkit.local/istio\n\ngo 1.25\n\nrequire istio.io/istio {pseudo}\n"
        )
        imports = "".join(f'\t_ "{_PACKAGES[name]}"\n' for name in (ISTIOD, AGENT))
        (src / "tools.go").write_text(
            f"//go:build tools\n\npackage tools\n\nimport (\n{imports})\n"
        )
        if check:
            (src / CHECK).mkdir()
            for source in check:
                shutil.copyfile(source, src / CHECK / source.name)

        def go_run(*args: str, what: str) -> str:
            step(what)
            command = [str(go), *args]
            out.write(f"$ {' '.join(command)}\n".encode())
            out.flush()
            done = subprocess.run(
                command,
                cwd=src,
                env=env,
                stdout=subprocess.PIPE,
                stderr=out,
                timeout=_BUILD_TIMEOUT_S,
                check=False,
            )
            if done.returncode != 0:
                out.flush()
                raise ProcessFailed(
                    f"building Istio {version} failed at: {what}",
                    command=command,
                    returncode=done.returncode,
                    output=_tail(log_path),
                    hint=f"the whole log is {log_path}; the Go module proxy must be reachable",
                )
            return done.stdout.decode(errors="replace")

        go_run("mod", "tidy", what=f"resolving istio.io/istio {pseudo}")
        builds = [(name, _TAGS[name], _PACKAGES[name]) for name in binaries]
        if check:
            builds.append((CHECK, _TAGS[ISTIOD], f"./{CHECK}"))
        for name, tags, package in builds:
            staged = temp_sibling(target / name)
            go_run(
                "build", "-trimpath", "-tags", tags, "-ldflags", ldflags, "-o", str(staged),
                package, what=f"building {name} {version}",
            )  # fmt: skip
            staged.replace(target / name)
        if not (target / CRDS).is_file():
            info = json.loads(go_run("mod", "download", "-json", f"istio.io/istio@{pseudo}",
                                     what="locating Istio's CRDs"))  # fmt: skip
            crds = Path(info["Dir"]) / "manifests" / "charts" / "base" / "files" / CRDS
            copy_atomic(crds, target / CRDS)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""
