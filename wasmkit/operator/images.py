"""What the operator learns about an image: its digest now, its module's sha256, its root ids.

A tag is re-resolved when the last answer is older than ``ttl`` (the resync period), so a
re-pushed tag is picked up on the next resync; a digest is asked once. The image itself is
pulled once per digest into the operator's own store (verified like every wasmkit pull): that
is how the operator knows the module's sha256 (the node-cache file name and the hash Envoy
checks) and the default root id, and refuses an image that is not a filter before any
workload is touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from wasmkit.deploy import ImageInfo
from wasmkit.errors import UnknownImage
from wasmkit.oci import Credential, LocalStore, Reference, RegistryOptions, parse, pull, resolve


@dataclass(frozen=True)
class Pinned:
    image: Reference  # with its digest
    info: ImageInfo


class ImageSource:
    def __init__(
        self, store: LocalStore, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.ttl = ttl
        self._clock = clock
        self._digests: dict[str, tuple[float, Reference]] = {}
        self._lock = threading.Lock()

    def pin(self, image: str, options: RegistryOptions, credential: Credential | None) -> Reference:
        reference = parse(image)
        if reference.digest:
            return reference
        key = str(reference)
        with self._lock:
            cached = self._digests.get(key)
        if cached and self._clock() - cached[0] < self.ttl:
            return cached[1]
        pinned = resolve(self.store, key, options, credential=credential)
        with self._lock:
            self._digests[key] = (self._clock(), pinned)
        return pinned

    def get(self, image: str, options: RegistryOptions, credential: Credential | None) -> Pinned:
        by_digest = self.pin(image, options, credential)
        try:
            record = self.store.resolve(by_digest)
        except UnknownImage:
            record = pull(self.store, str(by_digest), options, credential=credential)
        info = ImageInfo(
            ref=str(by_digest),
            manifest_digest=record.manifest_digest,
            module_sha256=record.module_sha256,
            root_ids=record.root_ids,
            abi_versions=record.abi_versions,
        )
        return Pinned(by_digest, info)
