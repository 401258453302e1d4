"""Image layouts: how a filter module is packed into an OCI image, and how to find it again.

Written by wasmkit (``wasmkit.oci.pack.build_image``):

- ``compat`` (default, what Istio's agent prefers): an OCI image whose one layer is a
  tar.gz holding ``plugin.wasm`` and ``runtime-config.json``; annotation
  ``module.wasm.image/variant=compat``.
- ``wasme``: config ``application/vnd.module.wasm.config.v1+json`` (the runtime config JSON),
  layers = [the same config blob, the module as
  ``application/vnd.module.wasm.content.layer.v1+wasm``].

Read (``find_module`` here, then ``wasmkit.oci.unpack``): both of those, Docker schema 2
images whose last layer tar holds ``plugin.wasm``, and the wasm artifact layout (an
``application/wasm`` layer). This module is the data model: media types, descriptors, manifests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from wasmkit._documents import load_json
from wasmkit.errors import InputFileError, LimitExceeded, ModuleError
from wasmkit.oci._digest import Digest, sha256_digest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TAR_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LAYER_TAR_GZ = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
TAR_LAYERS = (OCI_LAYER_TAR_GZ, OCI_LAYER_TAR, DOCKER_LAYER_TAR_GZ, DOCKER_LAYER_TAR)
GZIP_LAYERS = (OCI_LAYER_TAR_GZ, DOCKER_LAYER_TAR_GZ)

WASME_CONFIG = "application/vnd.module.wasm.config.v1+json"
WASME_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"
WASM_LAYERS = (WASME_LAYER, "application/wasm", "application/vnd.wasm.content.layer.v1+wasm")

TITLE = "org.opencontainers.image.title"
CREATED = "org.opencontainers.image.created"
PLUGIN_FILE = "plugin.wasm"
RUNTIME_CONFIG_FILE = "runtime-config.json"
MAX_RUNTIME_CONFIG = 64 * 1024
MAX_MANIFEST = 4 * 1024 * 1024
#: An image config (JSON) wasmkit downloads and shows; a filter's is a few hundred bytes.
MAX_CONFIG = 4 * 1024 * 1024
#: A filter image has one or two layers; Docker images stay far below 127 (overlayfs' limit).
MAX_LAYERS = 128

Format = Literal["compat", "wasme"]
FORMATS: tuple[Format, ...] = ("compat", "wasme")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    annotations: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> Descriptor:
        if not isinstance(data, dict):
            raise _bad(f"{where} is not an object")
        media_type, digest, size = data.get("mediaType"), data.get("digest"), data.get("size")
        checked = Digest(digest, f"the image's {where}.digest")
        if not isinstance(size, int) or size < 0:
            raise _bad(f"{where}.size is not a size")
        annotations = _annotations(data.get("annotations"), f"{where}.annotations")
        return cls(str(media_type or ""), checked, size, annotations)


@dataclass(frozen=True)
class Manifest:
    """An image manifest (OCI or Docker schema 2), parsed from its exact bytes."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str]
    raw: bytes

    @property
    def digest(self) -> Digest:
        return sha256_digest(self.raw)

    @property
    def blobs(self) -> tuple[Descriptor, ...]:
        """Config and layers, each digest once."""
        seen: dict[str, Descriptor] = {}
        for d in (self.config, *self.layers):
            seen.setdefault(d.digest, d)
        return tuple(seen.values())


@dataclass(frozen=True)
class ModuleLocation:
    """Where the module sits in an image."""

    layout: str  # compat | wasme | wasm-artifact | docker
    layer: Descriptor
    in_tar: bool


def _bad(why: str) -> ModuleError:
    return ModuleError(
        f"not a usable image manifest: {why}", hint="the image was not written by an OCI tool"
    )


def _document(raw: bytes, what: str) -> dict[str, Any]:
    """A manifest or index: bounded JSON (size, depth), an object."""
    try:
        data = load_json(raw, what, max_bytes=MAX_MANIFEST)
    except InputFileError as exc:
        raise _bad(f"it {exc.problems[0].removeprefix('(document): ')}") from None
    if not isinstance(data, dict):
        raise _bad("it is not a JSON object")
    return data


def _annotations(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"{where} is not an object")
    return {str(k): str(v) for k, v in value.items()}


def declared_media_type(raw: bytes) -> str | None:
    """The ``mediaType`` a manifest or index names for itself, if any."""
    kind = _document(raw, "the image manifest").get("mediaType")
    return kind if isinstance(kind, str) else None


def parse_manifest(raw: bytes, media_type: str | None = None) -> Manifest:
    data = _document(raw, "the image manifest")
    declared = data.get("mediaType")
    if declared in INDEX_TYPES or "manifests" in data:
        raise _bad("it is an index, not an image manifest")
    if declared is not None and declared not in MANIFEST_TYPES:
        # it is sent back as a Content-Type on push: only the types wasmkit knows
        raise _bad(f"its mediaType {str(declared)[:100]!r} is not an image manifest's")
    kind = declared or (media_type if media_type in MANIFEST_TYPES else OCI_MANIFEST)
    if data.get("schemaVersion") != 2:
        raise _bad("schemaVersion is not 2 (Docker schema 1 images are not supported)")
    layers = data.get("layers")
    if not isinstance(layers, list):
        raise _bad("layers is missing")
    if len(layers) > MAX_LAYERS:
        raise LimitExceeded(
            f"the image manifest lists {len(layers)} layers, more than {MAX_LAYERS}",
            hint="a filter image has one or two layers; this is not a filter image",
        )
    return Manifest(
        media_type=str(kind),
        config=Descriptor.from_json(data.get("config"), "config"),
        layers=tuple(Descriptor.from_json(layer, f"layers[{i}]") for i, layer in enumerate(layers)),
        annotations=_annotations(data.get("annotations"), "annotations"),
        raw=raw,
    )


def select_from_index(raw: bytes) -> Descriptor:
    """The manifest of an index to use: a wasm platform if listed, else the only one."""
    entries = _document(raw, "the image index").get("manifests")
    if not isinstance(entries, list) or not entries:
        raise _bad("the index lists no manifests")
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _bad(f"manifests[{i}] is not an object")
        platform = entry.get("platform") or {}
        if not isinstance(platform, dict):
            raise _bad(f"manifests[{i}].platform is not an object")
        if platform.get("architecture") == "wasm" or str(platform.get("os", "")).startswith("wasi"):
            return Descriptor.from_json(entry, "manifests[]")
    if len(entries) == 1:
        return Descriptor.from_json(entries[0], "manifests[0]")
    raise ModuleError(
        "the image index lists several platforms and none is wasm",
        hint="pull the wasm manifest by its digest: NAME@sha256:...",
    )


def select_platform(raw: bytes, os: str, architecture: str) -> Descriptor:
    """The manifest of an index for one platform (a container image's ``linux``/``amd64``)."""
    entries = _document(raw, "the image index").get("manifests")
    if not isinstance(entries, list) or not entries:
        raise _bad("the index lists no manifests")
    listed = []
    for i, entry in enumerate(entries):
        platform = entry.get("platform") if isinstance(entry, dict) else None
        if not isinstance(platform, dict):
            continue  # an attestation or a malformed entry: not a platform's image
        listed.append(f"{platform.get('os')}/{platform.get('architecture')}")
        if platform.get("os") == os and platform.get("architecture") == architecture:
            return Descriptor.from_json(entry, f"manifests[{i}]")
    raise ModuleError(
        f"the image index has no {os}/{architecture} image (it lists: "
        f"{', '.join(listed[:10]) or 'no platform'})",
        hint="use an image built for this platform, or name its manifest: NAME@sha256:...",
    )


def find_module(manifest: Manifest) -> ModuleLocation:
    """Which layer holds the module; ModuleError when the image is not a filter image."""
    for layer in manifest.layers:
        if layer.media_type in WASM_LAYERS:
            layout = "wasme" if layer.media_type == WASME_LAYER else "wasm-artifact"
            return ModuleLocation(layout, layer, in_tar=False)
    if manifest.layers and manifest.layers[-1].media_type in TAR_LAYERS:
        layout = "docker" if manifest.media_type == DOCKER_MANIFEST else "compat"
        return ModuleLocation(layout, manifest.layers[-1], in_tar=True)
    kinds = ", ".join(sorted({layer.media_type for layer in manifest.layers})) or "no layers"
    raise ModuleError(
        f"the image holds no wasm module (layers: {kinds})",
        hint="a filter image has a wasm layer or a last tar layer holding plugin.wasm",
    )


def used_blobs(manifest: Manifest, location: ModuleLocation) -> tuple[Descriptor, ...]:
    """The blobs wasmkit reads (config and module layer): a pull downloads only these.

    Other layers (the base of a Docker image) are not needed to run, test or deploy the filter;
    the config must stay small, since ``inspect`` shows it.
    """
    if manifest.config.size > MAX_CONFIG:
        raise LimitExceeded(
            f"the image config is {manifest.config.size} bytes, more than {MAX_CONFIG}",
            hint="a filter image's config is a small JSON document; this is not a filter image",
        )
    if location.layer.digest == manifest.config.digest:
        return (manifest.config,)
    return (manifest.config, location.layer)


def runtime_config(root_ids: Sequence[str], abi_versions: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "envoy_proxy",
        "abiVersions": list(abi_versions),
        "config": {"rootIds": list(root_ids)},
    }


def parse_runtime_config(raw: bytes) -> tuple[list[str], list[str]]:
    """``(root_ids, abi_versions)`` from a runtime config blob; empty lists when unreadable."""
    try:
        data = load_json(raw, "the runtime config", max_bytes=MAX_RUNTIME_CONFIG)
        roots = data.get("config", {}).get("rootIds", []) or []
        abis = data.get("abiVersions", []) or []
        return [str(r) for r in roots], [str(a) for a in abis]
    except (InputFileError, AttributeError, TypeError):
        return [], []
