"""The image facts deploying needs, from the local store (pulled and verified when missing)."""

from __future__ import annotations

import logging

from wasmkit.deploy.spec import ImageInfo
from wasmkit.oci import LocalStore, RegistryOptions, UnknownImage, parse, pull

log = logging.getLogger(__name__)


def image_info(store: LocalStore, ref: str, registry: RegistryOptions | None) -> ImageInfo:
    """The image's facts from the local store, pulling it first when it is not there."""
    try:
        record = store.resolve(ref)
    except UnknownImage:
        if registry is None:
            raise
        log.info("pulling %s", ref)
        record = pull(store, ref, registry)
    return ImageInfo(
        ref=str(parse(record.ref)),
        manifest_digest=record.manifest_digest,
        module_sha256=record.module_sha256,
        root_ids=tuple(record.root_ids),
        abi_versions=tuple(record.abi_versions),
    )
