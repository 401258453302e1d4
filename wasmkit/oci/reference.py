"""Image references: ``[registry[:port]/]repository[:tag][@sha256:...]``.

Parsed once, at the boundary, following the distribution reference grammar:
lowercase path components, tags of at most 128 word characters, ``sha256``
digests. A first component with a dot, a colon or equal to ``localhost`` is a
registry host; otherwise the reference is on Docker Hub, as with docker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wasmkit.errors import InvalidReference, UsageError
from wasmkit.oci._digest import Digest

DEFAULT_REGISTRY = "docker.io"
DEFAULT_TAG = "latest"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?"
)
_TAG = re.compile(r"[\w][\w.-]{0,127}")


@dataclass(frozen=True, order=True)
class Reference:
    registry: str
    repository: str
    tag: str | None = None
    digest: Digest | None = None

    @property
    def name(self) -> str:
        """``registry/repository``, without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def reference(self) -> str | Digest:
        """What goes after ``/manifests/`` in the registry API: the digest wins over the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.registry, self.repository, tag, None)

    def with_digest(self, digest: Digest) -> Reference:
        return Reference(self.registry, self.repository, None, digest)

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse(ref: str, *, default_tag: bool = True) -> Reference:
    """Parse ``ref``; a reference with neither tag nor digest gets ``latest`` if ``default_tag``."""
    text = ref.strip()
    if not text:
        raise InvalidReference(ref, "it is empty")
    if any(c.isspace() for c in text):
        raise InvalidReference(ref, "it contains white space")
    digest: Digest | None = None
    if "@" in text:
        text, given = text.split("@", 1)
        if not Digest.is_valid(given):
            raise InvalidReference(
                ref,
                f"{given!r} is not a digest",
                hint="a digest is sha256: and 64 lowercase hex digits",
            )
        digest = Digest(given)
    tag: str | None = None
    last_slash = text.rfind("/")
    colon = text.rfind(":")
    if colon > last_slash:
        text, tag = text[:colon], text[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise InvalidReference(
                ref,
                f"{tag!r} is not a valid tag",
                hint="a tag is up to 128 letters, digits, '_', '.' or '-'",
            )
    first, _, rest = text.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        registry, repository = first, rest
        if not _HOST.fullmatch(registry):
            raise InvalidReference(ref, f"{registry!r} is not a registry host[:port]")
    else:
        registry, repository = DEFAULT_REGISTRY, text
        if "/" not in repository:
            repository = f"library/{repository}"
    if not repository:
        raise InvalidReference(ref, "the repository name is missing")
    if repository != repository.lower():
        raise InvalidReference(
            ref,
            "repository names must be lowercase",
            hint=f"use {str(Reference(registry, repository.lower(), tag, digest))!r}",
        )
    if not _NAME.fullmatch(repository):
        raise InvalidReference(
            ref,
            f"{repository!r} is not a valid repository name",
            hint="use lowercase letters, digits and single '.', '_', '__' or '-' between them, "
            f"'/' between path components, e.g. {InvalidReference.EXAMPLE}",
        )
    if len(registry) + 1 + len(repository) > 255:
        raise InvalidReference(ref, "the name is longer than 255 characters")
    if tag is None and digest is None and default_tag:
        tag = DEFAULT_TAG
    return Reference(registry, repository, tag, digest)


def parse_registry(text: str) -> str:
    """A registry given alone (``login``): ``host[:port]``, a URL's scheme and path dropped."""
    host = text.strip().split("://", 1)[-1].split("/", 1)[0]
    if host in ("index.docker.io", "registry-1.docker.io"):
        return DEFAULT_REGISTRY
    if not host or not _HOST.fullmatch(host):
        raise UsageError(
            f"{text!r} is not a registry host[:port]", hint="e.g. localhost:5000 or ghcr.io"
        )
    return host


def api_host(registry: str) -> str:
    """The host that serves the registry API (Docker Hub's differs from its name)."""
    return "registry-1.docker.io" if registry == DEFAULT_REGISTRY else registry
