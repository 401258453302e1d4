"""The builder images, one per language, defined as data in this directory.

Each ``<language>.Containerfile`` here is the recipe of the image the container runner
compiles that language in. An image is pinned by content: its tag is the sha256 of the
Containerfile and the build arguments (``localhost/wasmkit-builder-cpp:<12 hex>``), so an
edited recipe or another base image gives another tag and is built afresh on first use,
while an unchanged one is reused by tag.

The base image is a build argument, ``BASE``: by default ``localhost/debian-base:bookworm``
(made locally with debootstrap where no registry can be pulled from, see
``.ci/setup.d/35-podman.sh``); users with Docker set ``WASMKIT_BUILDER_BASE=debian:bookworm``.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

from wasmkit.errors import UsageError

#: The default ``BASE`` build argument, and the variable that replaces it.
DEFAULT_BASE = "localhost/debian-base:bookworm"
BASE_ENV = "WASMKIT_BUILDER_BASE"
#: Images are named ``<REGISTRY_PREFIX>/wasmkit-builder-<language>:<content hash>``.
REGISTRY_PREFIX = "localhost"
_SUFFIX = ".Containerfile"


@dataclass(frozen=True)
class BuilderImage:
    """One builder image: its recipe, its build arguments and the tag they pin."""

    language: str
    containerfile: str
    build_args: Mapping[str, str] = field(default_factory=dict)

    @property
    def repository(self) -> str:
        return f"{REGISTRY_PREFIX}/wasmkit-builder-{self.language}"

    @property
    def digest(self) -> str:
        """sha256 over the recipe and the build arguments (sorted, so order does not matter)."""
        h = hashlib.sha256(self.containerfile.encode())
        for key in sorted(self.build_args):
            h.update(f"\0{key}={self.build_args[key]}".encode())
        return h.hexdigest()

    @property
    def tag(self) -> str:
        return f"{self.repository}:{self.digest[:12]}"

    @property
    def base(self) -> str:
        return self.build_args.get("BASE", DEFAULT_BASE)

    def context_tar(self) -> bytes:
        """The build context: a tar holding only ``Containerfile`` (recipes copy no files)."""
        data = self.containerfile.encode()
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            info = tarfile.TarInfo("Containerfile")
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        return buffer.getvalue()


def image_languages() -> list[str]:
    """The languages that have a builder image, sorted."""
    return sorted(
        entry.name.removesuffix(_SUFFIX)
        for entry in resources.files(__name__).iterdir()
        if entry.name.endswith(_SUFFIX)
    )


def builder_image(
    language: str,
    *,
    base: str | None = None,
    build_args: Mapping[str, str] | None = None,
) -> BuilderImage:
    """The builder image of ``language``.

    ``base`` (else ``$WASMKIT_BUILDER_BASE``, else :data:`DEFAULT_BASE`) becomes the ``BASE``
    build argument; ``build_args`` adds or replaces others (e.g. ``GO_VERSION``).
    """
    recipe = resources.files(__name__).joinpath(f"{language}{_SUFFIX}")
    if not recipe.is_file():
        raise UsageError(
            f"there is no builder image for language {language!r}",
            hint=f"builder images exist for: {', '.join(image_languages())}",
        )
    args = {"BASE": base or os.environ.get(BASE_ENV) or DEFAULT_BASE, **(build_args or {})}
    return BuilderImage(language=language, containerfile=recipe.read_text(), build_args=args)


def image_from_containerfile(
    name: str, containerfile: str, *, base: str | None = None
) -> BuilderImage:
    """A builder image from a recipe given as text (a project's own, or a test's)."""
    args = {"BASE": base or os.environ.get(BASE_ENV) or DEFAULT_BASE}
    return BuilderImage(language=name, containerfile=containerfile, build_args=args)
