"""The node cache: modules by sha256 in one directory, pulled by digest, evicted when unused.

Runs on every node (``wasmkit cache serve``, a DaemonSet). It holds the images the
FilterDeployments' statuses name (``image`` and ``appliedImage``, always pinned by digest), so a
module is on the node before any workload is patched to use it, and it stays while any
FilterDeployment still references it. Pulls go through wasmkit's OCI client: every digest is
verified, the module is size-capped and checked, and the file ``<dir>/<module sha256>`` appears by
rename, never half-written. Nothing the registry sends decides a path: the file name is the hex
of the sha256 the cache computed itself.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from wasmkit._atomic import copy_atomic
from wasmkit.errors import UnknownImage, UsageError, WasmkitError
from wasmkit.oci import Credential, Digest, LocalStore, RegistryOptions, parse, pull

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Want:
    """One image a FilterDeployment asks the caches to hold, and how to pull it."""

    image: str  # registry/repository@sha256:...
    options: RegistryOptions = field(default_factory=RegistryOptions)
    pull_secret: tuple[str, str] | None = None  # (namespace, name)


@dataclass(frozen=True)
class Report:
    """What a node holds (image by digest -> module sha256) and what it could not pull."""

    held: dict[str, str]
    failed: dict[str, str]


class NodeCache:
    def __init__(self, directory: Path, state_dir: Path):
        self.directory = directory
        self.store = LocalStore(state_dir)
        self.directory.mkdir(parents=True, exist_ok=True)

    def file_of(self, sha256: str) -> Path | None:
        """The module file for a 64-hex sha256, or None (never a path the caller made up)."""
        if not Digest.is_valid(f"sha256:{sha256}"):
            return None
        path = self.directory / sha256
        return path if path.is_file() else None

    def held(self) -> dict[str, str]:
        """Images pinned by digest whose module file is present: image -> module sha256."""
        out = {}
        for record in self.store.images():
            if "@sha256:" in record.ref and (self.directory / record.module_sha256).is_file():
                out[record.ref] = record.module_sha256
        return out

    def ensure(self, image: str, options: RegistryOptions, credential: Credential | None) -> str:
        """Hold ``image`` (by digest); returns the module's sha256."""
        reference = parse(image)
        if not reference.digest:
            raise UsageError(
                f"the node cache pulls by digest only, not {image}",
                hint="the operator resolves tags; this is a bug if it came from a status",
            )
        try:
            record = self.store.resolve(reference)
        except UnknownImage:
            record = pull(self.store, str(reference), options, credential=credential)
            log.info("pulled %s (module %s)", reference, record.module_sha256)
        target = self.directory / record.module_sha256
        if not target.is_file():
            copy_atomic(self.store.module_path(reference), target)
        return record.module_sha256

    def evict(self, keep: Iterable[str]) -> list[str]:
        """Drop every held image not in ``keep``, and module files no kept image uses."""
        keep = set(keep)
        dropped = []
        for record in self.store.images():
            if record.ref not in keep:
                self.store.remove(record.ref)
                dropped.append(record.ref)
        used = {r.module_sha256 for r in self.store.images()}
        for entry in os.scandir(self.directory):
            if Digest.is_valid(f"sha256:{entry.name}") and entry.name not in used:
                os.unlink(entry.path)
                log.info("evicted module %s", entry.name)
        return dropped

    def sync(self, wants: Iterable[Want], credentials: dict[str, Credential | None]) -> Report:
        """Pull what is wanted and missing, evict what nothing wants; one failure does not stop
        the others (its reason is reported)."""
        wants = list(wants)
        failed: dict[str, str] = {}
        for want in wants:
            try:
                self.ensure(want.image, want.options, credentials.get(want.image))
            except WasmkitError as exc:
                failed[want.image] = str(exc)[:300]
                log.warning("cannot hold %s: %s", want.image, exc)
        self.evict(w.image for w in wants)
        return Report(self.held(), failed)
