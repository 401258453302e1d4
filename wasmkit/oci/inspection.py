"""What ``wasmkit inspect`` shows, and Istio's rules for accepting a filter image.

Istio's agent takes an ``oci://`` image when its last layer is a tar(.gz) holding
``plugin.wasm``, or when it is the wasme variant (wasm config media type, exactly two layers).
The module must start with ``\\0asm`` and be at most 256 MiB. For ``oci://`` urls Istio compares
a WasmPlugin's ``sha256`` with the MANIFEST digest; for ``http(s)://`` with the module's sha256.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wasmkit._documents import load_json
from wasmkit.errors import InputFileError
from wasmkit.oci._digest import MAX_MODULE_BYTES, WASM_MAGIC
from wasmkit.oci.layout import (
    GZIP_LAYERS,
    MAX_CONFIG,
    MAX_MANIFEST,
    TAR_LAYERS,
    WASME_CONFIG,
    WASME_LAYER,
    Manifest,
)
from wasmkit.oci.records import ImageRecord
from wasmkit.oci.store import LocalStore


def record_summary(record: ImageRecord) -> dict[str, Any]:
    """A stored image as ``wasmkit images --json`` and ``wasmkit inspect --json`` show it."""
    return {
        "ref": record.ref,
        "manifestDigest": record.manifest_digest,
        "moduleSha256": record.module_sha256,
        "size": record.size,
        "layout": record.layout,
        "abiVersions": list(record.abi_versions),
        "rootIds": list(record.root_ids),
        "created": record.created,
    }


@dataclass(frozen=True)
class Inspection:
    record: ImageRecord
    manifest: dict[str, Any]
    config: Any
    config_digest: str
    istio_problems: tuple[str, ...] | None  # None: not checked

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            **record_summary(self.record),
            "configDigest": self.config_digest,
            "manifest": self.manifest,
            "config": self.config,
        }
        if self.istio_problems is not None:
            out["istio"] = {
                "accepted": not self.istio_problems,
                "problems": list(self.istio_problems),
                "ociSha256": self.record.manifest_digest.removeprefix("sha256:"),
                "httpSha256": self.record.module_sha256,
            }
        return out


def istio_problems(manifest: Manifest, module_head: bytes, module_size: int) -> list[str]:
    """Why Istio's agent would refuse this image (empty when it would take it)."""
    problems: list[str] = []
    layers = manifest.layers
    wasme = manifest.config.media_type == WASME_CONFIG
    if wasme:
        if len(layers) != 2:
            problems.append(f"a wasme image must have exactly 2 layers, this one has {len(layers)}")
        if not any(layer.media_type == WASME_LAYER for layer in layers):
            problems.append(f"a wasme image needs a {WASME_LAYER} layer")
    elif not layers or layers[-1].media_type not in TAR_LAYERS:
        last = layers[-1].media_type if layers else "none"
        problems.append(
            f"the last layer ({last}) is not a tar layer holding plugin.wasm; "
            "Istio takes Docker/OCI images (the default --format compat) or the wasme variant"
        )
    elif layers[-1].media_type not in GZIP_LAYERS:
        problems.append("the last layer is an uncompressed tar; Istio expects tar+gzip")
    if not module_head.startswith(WASM_MAGIC):
        problems.append("the module does not start with \\0asm")
    if module_size > MAX_MODULE_BYTES:
        problems.append(f"the module is {module_size} bytes, over Istio's 256 MiB limit")
    return problems


def inspect(store: LocalStore, ref: str, *, check_istio: bool = False) -> Inspection:
    record = store.resolve(ref)
    manifest = store.manifest(record)
    config_file = store.blob_path(manifest.config.digest)
    config: Any = None  # not stored, or too large to show (a pull refuses those)
    if config_file.is_file() and config_file.stat().st_size <= MAX_CONFIG:
        config_raw = config_file.read_bytes()
        try:
            config = load_json(config_raw, "the image config", max_bytes=MAX_CONFIG)
        except InputFileError:
            config = config_raw.decode("utf-8", "replace")
    problems: tuple[str, ...] | None = None
    if check_istio:
        module = store.module_path(record.ref)
        with module.open("rb") as f:
            head = f.read(4)
        problems = tuple(istio_problems(manifest, head, record.size))
    shown = load_json(manifest.raw, "the image manifest", max_bytes=MAX_MANIFEST)
    return Inspection(record, shown, config, manifest.config.digest, problems)
