"""Write a filter image: the compat or wasme layout of ``wasmkit.oci.layout``, streaming.

Archives are deterministic (mtime 0, root owner, gzip mtime 0), so one module gives one digest
for a given creation time (``SOURCE_DATE_EPOCH`` is honoured).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from wasmkit.oci._digest import CHUNK, Digest, HashingWriter, sha256_digest
from wasmkit.oci.layout import (
    CREATED,
    OCI_CONFIG,
    OCI_LAYER_TAR_GZ,
    OCI_MANIFEST,
    PLUGIN_FILE,
    RUNTIME_CONFIG_FILE,
    TITLE,
    WASME_CONFIG,
    WASME_LAYER,
    Descriptor,
    Format,
    Manifest,
    parse_manifest,
    runtime_config,
)


@dataclass(frozen=True)
class BuiltImage:
    manifest: Manifest
    files: Mapping[Digest, Path]  # digest -> file holding that blob


def created_now() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = int(epoch) if epoch and epoch.isdigit() else int(time.time())
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _blob(path: Path, data: bytes) -> tuple[Digest, Path]:
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


def _write_compat_layer(module: Path, config_blob: bytes, dest: Path) -> tuple[Descriptor, Digest]:
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
    files: dict[Digest, Path] = {}
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
