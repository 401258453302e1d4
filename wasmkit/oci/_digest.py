"""Content digests: the validated :class:`Digest` type, and hashing while bytes stream.

A digest arrives from outside (a manifest, an index, a registry header, the store's own index,
a reference the user typed) and later names files (``blobs/sha256/<hex>``, staging files). It
is therefore checked once, where it enters, by constructing a :class:`Digest`; every function
that builds a path takes a ``Digest``, never a ``str``, so mypy finds an unchecked one.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import BinaryIO, Protocol

from wasmkit.errors import InvalidDigest

CHUNK = 1024 * 1024

#: The same values as wasmkit.module's; kept here so push and pull do not load wasmtime.
WASM_MAGIC = b"\0asm"
MAX_MODULE_BYTES = 256 * 1024 * 1024

# The OCI image spec's registered encoding for sha256; the only algorithm wasmkit verifies.
_SHA256 = re.compile(r"sha256:[a-f0-9]{64}")
_HEX = re.compile(r"[a-f0-9]{64}")


class Digest(str):
    """``sha256:<64 lowercase hex>``, checked on construction (InvalidDigest otherwise)."""

    __slots__ = ()

    def __new__(cls, text: object, where: str = "a digest") -> Digest:
        if isinstance(text, Digest):
            return text
        if not isinstance(text, str) or not _SHA256.fullmatch(text):
            raise InvalidDigest(text, where)
        return super().__new__(cls, text)

    @classmethod
    def of_hex(cls, text: object, where: str = "a digest") -> Digest:
        if not isinstance(text, str) or not _HEX.fullmatch(text):
            raise InvalidDigest(text, where)
        return cls("sha256:" + text)

    @classmethod
    def is_valid(cls, text: object) -> bool:
        return isinstance(text, str) and _SHA256.fullmatch(text) is not None

    @property
    def hex(self) -> str:
        """The 64 hex digits: safe as a file name."""
        return self[7:]


def sha256_digest(data: bytes) -> Digest:
    return Digest("sha256:" + hashlib.sha256(data).hexdigest())


def file_digest(path: Path) -> tuple[Digest, int]:
    """``(sha256:<hex>, size)`` of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            size += len(chunk)
    return Digest("sha256:" + h.hexdigest()), size


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


class HashingWriter:
    """A write-only file object that hashes and counts what passes through to ``target``."""

    def __init__(self, target: Writable):
        self._target = target
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        self._hash.update(view)
        self.size += len(view)
        self._target.write(bytes(view) if not isinstance(data, bytes) else data)
        return len(view)

    def flush(self) -> None:
        self._target.flush()

    @property
    def digest(self) -> Digest:
        return Digest("sha256:" + self._hash.hexdigest())


def fsync_close(f: BinaryIO) -> None:
    f.flush()
    os.fsync(f.fileno())
    f.close()
