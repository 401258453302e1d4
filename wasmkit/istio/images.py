"""Istio's binaries as its published container images hold them, checked before installing.

``pilot-discovery`` is ``usr/local/bin/pilot-discovery`` in ``docker.io/istio/pilot:VERSION``,
``pilot-agent`` is ``usr/local/bin/pilot-agent`` in ``docker.io/istio/proxyv2:VERSION``
(Istio's ``pilot/docker/Dockerfile.pilot`` and ``Dockerfile.proxyv2``). Fetching them is the
OCI client's job (:mod:`wasmkit.tasks.istio`); here a fetched file is made executable, asked
its version (``version -s`` must answer the release asked for), and only then written into the
release directory atomically. The images hold neither wasmkit's istio-check nor Istio's CRDs:
the build path adds those (:mod:`wasmkit.istio.install`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from wasmkit._atomic import copy_atomic
from wasmkit.errors import ProcessFailed, UsageError
from wasmkit.istio.install import AGENT, ISTIOD

IN_IMAGE = {ISTIOD: "usr/local/bin/pilot-discovery", AGENT: "usr/local/bin/pilot-agent"}
_VERSION_TIMEOUT_S = 60


def default_refs(version: str) -> dict[str, str]:
    """Istio's published image of each binary for ``version``."""
    return {
        ISTIOD: f"docker.io/istio/pilot:{version}",
        AGENT: f"docker.io/istio/proxyv2:{version}",
    }


def binary_version(path: Path) -> str:
    """What ``BINARY version -s`` prints (Istio's binaries: the release, e.g. ``1.29.1``)."""
    command = [str(path), "version", "-s"]
    try:
        done = subprocess.run(command, capture_output=True, timeout=_VERSION_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProcessFailed(
            f"{path.name} from the image does not run here: {exc}",
            command=command,
            returncode=-1,
            output="",
            hint="the image is not a linux/amd64 Istio image; build instead: "
            "wasmkit istio install VERSION --from-source",
        ) from None
    if done.returncode != 0:
        raise ProcessFailed(
            f"{path.name} from the image failed to say its version",
            command=command,
            returncode=done.returncode,
            output=(done.stdout + done.stderr).decode(errors="replace")[-2000:],
            hint="the image is not an Istio image; check the reference",
        )
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def place_binary(staged: Path, target: Path, name: str, version: str, ref: str) -> None:
    """Check the binary ``staged`` (taken from ``ref``) is Istio ``version``'s, then write it
    to ``target/name`` in one step, executable."""
    os.chmod(staged, 0o700)  # run once by wasmkit, here, before it is installed
    said = binary_version(staged)
    if said != version:
        raise UsageError(
            f"{name} in {ref} is Istio {said or '(no version)'}, not {version}",
            hint="name the image of that release (--pilot-image / --proxy-image)",
        )
    copy_atomic(staged, target / name, mode=0o755)
