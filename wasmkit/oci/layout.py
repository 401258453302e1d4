"""Image layouts: how a filter module is packed into an OCI image, and how to find it again.

Written by wasmkit (``build_image``):

- ``compat`` (default, what Istio's agent prefers): an OCI image whose one layer is a
  tar.gz holding ``plugin.wasm`` and ``runtime-config.json``; annotation
  ``module.wasm.image/variant=compat``.
- ``wasme``: config ``application/vnd.module.wasm.config.v1+json`` (the runtime config JSON),
  layers = [the same config blob, the module as
  ``application/vnd.module.wasm.content.layer.v1+wasm``].

Read (``find_module``): both of those, Docker schema 2 images whose last layer tar holds
``plugin.wasm``, and the wasm artifact layout (an ``application/wasm`` layer).
Archives are deterministic (mtime 0, root owner) so one module gives one digest for a given
creation time (``SOURCE_DATE_EPOCH`` is honoured).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

from wasmkit.errors import ModuleError
from wasmkit.oci._digest import (
    CHUNK,
    MAX_MODULE_BYTES,
    WASM_MAGIC,
    HashingWriter,
    sha256_digest,
)

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

Format = Literal["compat", "wasme"]
FORMATS: tuple[Format, ...] = ("compat", "wasme")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
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
        if not isinstance(digest, str) or not digest.startswith("sha256:") or len(digest) != 71:
            raise _bad(f"{where}.digest is not a sha256 digest")
        if not isinstance(size, int) or size < 0:
            raise _bad(f"{where}.size is not a size")
        annotations = data.get("annotations") or {}
        return cls(
            str(media_type or ""), digest, size, {str(k): str(v) for k, v in annotations.items()}
        )


@dataclass(frozen=True)
class Manifest:
    """An image manifest (OCI or Docker schema 2), parsed from its exact bytes."""

    media_type: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    annotations: Mapping[str, str]
    raw: bytes

    @property
    def digest(self) -> str:
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


@dataclass(frozen=True)
class BuiltImage:
    manifest: Manifest
    files: Mapping[str, Path]  # digest -> file holding that blob


def _bad(why: str) -> ModuleError:
    return ModuleError(
        f"not a usable image manifest: {why}", hint="the image was not written by an OCI tool"
    )


def parse_manifest(raw: bytes, media_type: str | None = None) -> Manifest:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _bad("it is not JSON") from None
    if not isinstance(data, dict):
        raise _bad("it is not a JSON object")
    kind = data.get("mediaType") or media_type or OCI_MANIFEST
    if kind in INDEX_TYPES or "manifests" in data:
        raise _bad("it is an index, not an image manifest")
    if data.get("schemaVersion") != 2:
        raise _bad("schemaVersion is not 2 (Docker schema 1 images are not supported)")
    layers = data.get("layers")
    if not isinstance(layers, list):
        raise _bad("layers is missing")
    return Manifest(
        media_type=str(kind),
        config=Descriptor.from_json(data.get("config"), "config"),
        layers=tuple(Descriptor.from_json(layer, f"layers[{i}]") for i, layer in enumerate(layers)),
        annotations={str(k): str(v) for k, v in (data.get("annotations") or {}).items()},
        raw=raw,
    )


def select_from_index(raw: bytes) -> Descriptor:
    """The manifest of an index to use: a wasm platform if listed, else the only one."""
    try:
        data = json.loads(raw)
        entries = data["manifests"]
    except (ValueError, KeyError, TypeError):
        raise _bad("the index has no manifests list") from None
    if not isinstance(entries, list) or not entries:
        raise _bad("the index lists no manifests")
    for entry in entries:
        platform = entry.get("platform") or {}
        if platform.get("architecture") == "wasm" or str(platform.get("os", "")).startswith("wasi"):
            return Descriptor.from_json(entry, "manifests[]")
    if len(entries) == 1:
        return Descriptor.from_json(entries[0], "manifests[0]")
    raise ModuleError(
        "the image index lists several platforms and none is wasm",
        hint="pull the wasm manifest by its digest: NAME@sha256:...",
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


def runtime_config(root_ids: Sequence[str], abi_versions: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "envoy_proxy",
        "abiVersions": list(abi_versions),
        "config": {"rootIds": list(root_ids)},
    }


def parse_runtime_config(raw: bytes) -> tuple[list[str], list[str]]:
    """``(root_ids, abi_versions)`` from a runtime config blob; empty lists when unreadable."""
    try:
        data = json.loads(raw)
        roots = data.get("config", {}).get("rootIds", []) or []
        abis = data.get("abiVersions", []) or []
        return [str(r) for r in roots], [str(a) for a in abis]
    except (ValueError, AttributeError, TypeError):
        return [], []


def created_now() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _blob(path: Path, data: bytes) -> tuple[str, Path]:
    path.write_bytes(data)
    return sha256_digest(data), path


def _json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _tar_member(tar: tarfile.TarFile, name: str, size: int, source: BinaryIO) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    info.uname = info.gname = "root"
    tar.addfile(info, source)


def _write_compat_layer(module: Path, config_blob: bytes, dest: Path) -> tuple[Descriptor, str]:
    """Write the tar.gz layer; return its descriptor and the diff id (sha256 of the tar)."""
    with dest.open("wb") as out:
        compressed = HashingWriter(out)
        with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, compresslevel=6) as gz:
            plain = HashingWriter(gz)
            with (
                tarfile.open(
                    fileobj=cast(BinaryIO, plain), mode="w|", format=tarfile.USTAR_FORMAT
                ) as tar,
                module.open("rb") as src,
            ):
                _tar_member(tar, PLUGIN_FILE, module.stat().st_size, src)
                _tar_member(tar, RUNTIME_CONFIG_FILE, len(config_blob), io.BytesIO(config_blob))
    layer = Descriptor(
        OCI_LAYER_TAR_GZ, compressed.digest, compressed.size, {TITLE: "plugin.tar.gz"}
    )
    return layer, plain.digest


def build_image(
    module: Path,
    workdir: Path,
    *,
    root_ids: Sequence[str],
    abi_versions: Sequence[str],
    layout: Format = "compat",
    created: str | None = None,
) -> BuiltImage:
    """Write the blobs of a filter image into ``workdir``; nothing is held in memory whole."""
    created = created or created_now()
    config_blob = _json(runtime_config(root_ids, abi_versions))
    files: dict[str, Path] = {}
    if layout == "wasme":
        config_digest, path = _blob(workdir / "runtime-config.json", config_blob)
        files[config_digest] = path
        copy = workdir / "filter.wasm"  # the store must not share an inode with the user's file
        with module.open("rb") as src, copy.open("wb") as out:
            writer = HashingWriter(out)
            while chunk := src.read(CHUNK):
                writer.write(chunk)
        module_digest, module_size = writer.digest, writer.size
        files[module_digest] = copy
        config = Descriptor(WASME_CONFIG, config_digest, len(config_blob))
        layers = [
            Descriptor(WASME_CONFIG, config_digest, len(config_blob), {TITLE: RUNTIME_CONFIG_FILE}),
            Descriptor(WASME_LAYER, module_digest, module_size, {TITLE: "filter.wasm"}),
        ]
        annotations = {
            "module.wasm.runtime/type": "envoy_proxy",
            "module.wasm.runtime/abi_version": ",".join(abi_versions),
            CREATED: created,
        }
    elif layout == "compat":
        layer, diff_id = _write_compat_layer(module, config_blob, workdir / "layer.tar.gz")
        files[layer.digest] = workdir / "layer.tar.gz"
        image_config = _json(
            {
                "architecture": "wasm",
                "os": "wasip1",
                "created": created,
                "config": {"Labels": {"module.wasm.image/variant": "compat"}},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        )
        config_digest, path = _blob(workdir / "config.json", image_config)
        files[config_digest] = path
        config = Descriptor(OCI_CONFIG, config_digest, len(image_config))
        layers = [layer]
        annotations = {"module.wasm.image/variant": "compat", CREATED: created}
    else:  # pragma: no cover - Format is closed
        raise ValueError(layout)
    raw = _json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config.to_json(),
            "layers": [d.to_json() for d in layers],
            "annotations": annotations,
        }
    )
    return BuiltImage(parse_manifest(raw), files)


@dataclass(frozen=True)
class Extracted:
    sha256: str  # hex of the module
    size: int
    runtime_config: bytes | None


class _Discard:
    def write(self, data: bytes, /) -> int:
        return len(data)

    def flush(self) -> None:
        pass


def _copy_module(src: BinaryIO, dest: Path | None, limit: int, what: str) -> tuple[str, int]:
    with dest.open("wb") if dest else contextlib.nullcontext(_Discard()) as out:
        writer = HashingWriter(out)
        first = src.read(CHUNK)
        if not first.startswith(WASM_MAGIC):
            raise ModuleError(
                f"{what} is not a WebAssembly module (it does not start with \\0asm)",
                hint="this image is not a wasm filter; check the reference",
            )
        writer.write(first)
        while chunk := src.read(CHUNK):
            writer.write(chunk)
            if writer.size > limit:
                raise ModuleError(f"{what} is larger than {limit // (1024 * 1024)} MiB")
    return writer.digest.split(":", 1)[1], writer.size


def extract_module(location: ModuleLocation, layer_file: Path, dest: Path | None) -> Extracted:
    """Copy the module out of its (verified) layer blob into ``dest``, streaming.

    With ``dest=None`` a module inside a tar is only checked and hashed, not written.
    """
    if not location.in_tar:
        # the layer is the module, its digest already verified: link it instead of copying
        with layer_file.open("rb") as src:
            head = src.read(len(WASM_MAGIC))
        if head != WASM_MAGIC:
            raise ModuleError(
                "the module layer is not a WebAssembly module (it does not start with \\0asm)",
                hint="this image is not a wasm filter; check the reference",
            )
        size = layer_file.stat().st_size
        if size > MAX_MODULE_BYTES:
            raise ModuleError("the module layer is larger than 256 MiB")
        if dest is not None:
            try:
                os.link(layer_file, dest)
            except OSError:
                shutil.copyfile(layer_file, dest)
        return Extracted(location.layer.digest.split(":", 1)[1], size, None)
    found: tuple[str, int] | None = None
    config: bytes | None = None
    try:
        with tarfile.open(layer_file, mode="r|*") as tar:
            for member in tar:
                name = member.name.removeprefix("./").lstrip("/")
                if not member.isfile() or name not in (PLUGIN_FILE, RUNTIME_CONFIG_FILE):
                    continue
                source = tar.extractfile(member)
                assert source is not None
                if name == PLUGIN_FILE:
                    if member.size > MAX_MODULE_BYTES:
                        raise ModuleError(f"{PLUGIN_FILE} is larger than 256 MiB")
                    found = _copy_module(source, dest, MAX_MODULE_BYTES, PLUGIN_FILE)  # type: ignore[arg-type]
                elif member.size <= MAX_RUNTIME_CONFIG:
                    config = source.read()
    except (tarfile.TarError, EOFError, OSError, gzip.BadGzipFile) as exc:
        raise ModuleError(
            f"the last layer is not a readable tar archive: {exc}",
            hint="the image is damaged or is not a filter image",
        ) from None
    if found is None:
        raise ModuleError(
            f"the image's last layer holds no {PLUGIN_FILE}",
            hint="this image is not a wasm filter (Istio also needs plugin.wasm in the last layer)",
        )
    return Extracted(found[0], found[1], config)
