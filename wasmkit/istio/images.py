"""Istio's binaries from its published container images, through wasmkit's OCI client.

``pilot-discovery`` is ``usr/local/bin/pilot-discovery`` in ``docker.io/istio/pilot:VERSION``,
``pilot-agent`` is ``usr/local/bin/pilot-agent`` in ``docker.io/istio/proxyv2:VERSION`` (the
linux/amd64 image of their index). Each is taken out of the layers
(:func:`wasmkit.oci.image_files.image_files`: every digest verified, bounded, fixed names),
made executable, asked its version (``version -s`` must answer the release asked for), and only
then written into the release directory atomically. The images hold neither wasmkit's
istio-check nor Istio's CRDs: the build path adds those (:mod:`wasmkit.istio.install`).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from wasmkit._atomic import copy_atomic
from wasmkit.errors import ProcessFailed, UsageError
from wasmkit.istio.install import AGENT, ISTIOD
from wasmkit.oci.image_files import image_files
from wasmkit.oci.transfer import RegistryOptions

#: Where Istio's Dockerfiles put the binaries (pilot/docker/Dockerfile.pilot, Dockerfile.proxyv2).
IN_IMAGE = {ISTIOD: "usr/local/bin/pilot-discovery", AGENT: "usr/local/bin/pilot-agent"}
_VERSION_TIMEOUT_S = 60


@dataclass(frozen=True)
class IstioImages:
    """The images to take the binaries from; None means Istio's published one for the release."""

    pilot: str | None = None
    proxy: str | None = None
    options: RegistryOptions = field(default_factory=RegistryOptions)

    def refs(self, version: str) -> dict[str, str]:
        return {
            ISTIOD: self.pilot or f"docker.io/istio/pilot:{version}",
            AGENT: self.proxy or f"docker.io/istio/proxyv2:{version}",
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
    return done.stdout.decode(errors="replace").strip().splitlines()[-1:][0] if done.stdout else ""


def install_from_images(
    version: str,
    target: Path,
    names: list[str],
    images: IstioImages,
    step: Callable[[str], None],
) -> list[str]:
    """Put ``names`` (of ISTIOD, AGENT) of Istio ``version`` into ``target`` from the images;
    returns the references used. Nothing is written unless every check passed."""
    used = []
    refs = images.refs(version)
    for name in names:
        ref = refs[name]
        step(f"fetching {name} {version} from {ref}")
        with image_files(ref, [IN_IMAGE[name]], images.options, staging=target) as fetched:
            staged = fetched.files[IN_IMAGE[name]]
            os.chmod(staged, 0o700)  # run once by wasmkit, here, before it is installed
            said = binary_version(staged)
            if said != version:
                raise UsageError(
                    f"{name} in {ref} is Istio {said or '(no version)'}, not {version}",
                    hint="name the image of that release (--pilot-image / --proxy-image)",
                )
            copy_atomic(staged, target / name, mode=0o755)
        used.append(f"{ref}@{fetched.manifest_digest}")
    return used
