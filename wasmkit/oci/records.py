"""The store's own files: the reference index and one record per image, read within bounds.

They are wasmkit's, but anyone with the user's account can edit them: every read is bounded
(wasmkit._documents), every digest in them is validated (a reference whose digest is not one is
left out of the index), and a damaged file is an error with a hint, never a traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wasmkit._atomic import write_atomic
from wasmkit._documents import read_json_file
from wasmkit.errors import InputFileError, InvalidDigest, UnknownImage, UntrustedInput
from wasmkit.oci._digest import Digest

log = logging.getLogger(__name__)

MAX_INDEX_BYTES = 64 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ImageRecord:
    """One image in the store, as ``wasmkit images`` lists it."""

    ref: str
    manifest_digest: Digest
    module_sha256: str  # 64 hex digits
    size: int
    layout: str
    abi_versions: tuple[str, ...]
    root_ids: tuple[str, ...]
    created: str
    sources: tuple[str, ...] = field(
        default=()
    )  # registry/repository names known to hold the blobs

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("ref")
        return data

    @classmethod
    def from_json(cls, ref: str, data: Mapping[str, Any]) -> ImageRecord:
        where = f"the store's record of {ref}"
        return cls(
            ref=ref,
            manifest_digest=Digest(data["manifest_digest"], where),
            module_sha256=Digest.of_hex(data["module_sha256"], where).hex,
            size=int(data["size"]),
            layout=data.get("layout", "compat"),
            abi_versions=tuple(data.get("abi_versions", ())),
            root_ids=tuple(data.get("root_ids", ())),
            created=data.get("created", ""),
            sources=tuple(data.get("sources", ())),
        )


def damaged(path: Path) -> UntrustedInput:
    return UntrustedInput(
        f"{path} is damaged or was edited by hand",
        hint="remove the image (`wasmkit rm REF`) and pull it again, "
        "or delete the store directory to start afresh",
    )


def load_store_file(path: Path, max_bytes: int) -> Any:
    """One of the store's own JSON files (None if missing); damaged or hostile: an error."""
    try:
        return read_json_file(path, max_bytes=max_bytes)
    except InputFileError:
        raise damaged(path) from None


def read_index(path: Path) -> dict[str, Digest]:
    """References and their manifest digests; an entry that is not a digest is left out
    (and dropped at the next write), so no edit of the index can name a file elsewhere."""
    data = load_store_file(path, MAX_INDEX_BYTES)
    if data is None:
        return {}
    refs = data.get("refs") if isinstance(data, dict) else None
    if not isinstance(refs, dict):
        raise damaged(path)
    index: dict[str, Digest] = {}
    for ref, digest in refs.items():
        if Digest.is_valid(digest):
            index[str(ref)] = Digest(digest)
        else:
            log.warning("ignoring %s in %s: not a digest", ascii(str(ref))[:200], path)
    return index


def write_index(path: Path, refs: Mapping[str, Digest]) -> None:
    body = json.dumps({"version": 1, "refs": dict(sorted(refs.items()))}, indent=2).encode()
    write_atomic(path, body)


def read_record(path: Path, ref: str) -> ImageRecord:
    data = load_store_file(path, MAX_RECORD_BYTES)
    if data is None:  # removed by another process since the index was read
        raise UnknownImage(ref)
    try:
        return ImageRecord.from_json(ref, data)
    except (ValueError, KeyError, TypeError, AttributeError, InvalidDigest):
        raise damaged(path) from None
