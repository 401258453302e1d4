"""The on-disk cache of compiled modules: bytes in, the same bytes out, or nothing.

Loading a compiled module runs its machine code without checking it, so an entry is used
only when everything about it is ours and intact; anything else reads as a miss and is
compiled again (then overwritten):

- the file sits in ``<cache dir>/emulator/`` (created 0700), is a regular file owned by this
  user and not writable by group or others (someone else's file is never loaded:
  ``wasmkit._atomic.read_own``);
- it starts with a header naming the entry's key (the module's sha256 and the engine tag:
  wasmtime's version, the engine configuration, the machine), so a file copied or renamed
  to another key is refused;
- the header carries the sha256 of the payload, so a truncated or damaged file is refused.

Entries are written with the project's one atomic-write helper, so a reader never sees half
of one. Only this module and :mod:`wasmkit.emulator._wasm` know the format.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from wasmkit._atomic import read_own, write_atomic
from wasmkit.module import cache_dir

_MAGIC = b"wasmkit compiled module 1\n"
#: A compiled module is a few times its wasm; more than this is not one of ours.
MAX_ENTRY_BYTES = 1024 * 1024 * 1024


def _directory() -> Path:
    return cache_dir() / "emulator"


def entry_path(key: str) -> Path:
    return _directory() / f"{key}.cwasm"


def _header(key: str, payload_digest: bytes) -> bytes:
    return _MAGIC + key.encode() + b"\n" + payload_digest


def load(key: str) -> bytes | None:
    """The payload stored under ``key`` if the entry is ours and intact, else None."""
    data = read_own(entry_path(key), MAX_ENTRY_BYTES)
    if data is None:
        return None
    head = len(_header(key, b"\0" * 32))
    if len(data) < head or not data.startswith(_MAGIC):
        return None
    payload = data[head:]
    if data[:head] != _header(key, hashlib.sha256(payload).digest()):
        return None
    return payload


def store(key: str, payload: bytes | bytearray) -> None:
    """Keep ``payload`` under ``key``; a cache that cannot be written only costs time."""
    directory = _directory()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(
            entry_path(key),
            _header(key, hashlib.sha256(payload).digest()) + payload,
            mode=0o600,
        )
    except OSError:
        pass
