"""The one way wasmkit writes a file that someone else may read at the same time.

A reader sees the old content or the new one, never half of it: the data goes to a temporary
file beside the target (a name no other process or thread can pick: pid and a random token,
created with ``O_EXCL``), is flushed to disk, and replaces the target with ``os.replace``.
A failure removes the temporary file and leaves the target as it was. :func:`read_own` is
the reading side for cache entries wasmkit acts on: only the user's own, unshared files.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: Permissions of a new file before the umask: 0o666 as ``open()`` uses; 0o600 for secrets.
DEFAULT_MODE = 0o666


def temp_sibling(path: Path) -> Path:
    """A name beside ``path`` that no other process or call picks, for a file a subprocess
    writes (``go build -o``) before it replaces ``path`` with ``os.replace``."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _replace(path: Path, mode: int, fill: Callable[[BinaryIO], object]) -> None:
    tmp = temp_sibling(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, data: bytes | bytearray | str, *, mode: int = DEFAULT_MODE) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) in one step."""
    raw = data.encode() if isinstance(data, str) else bytes(data)
    _replace(path, mode, lambda f: f.write(raw))


def copy_atomic(source: Path, target: Path, *, mode: int = DEFAULT_MODE) -> None:
    """Replace ``target`` with a copy of ``source`` in one step."""
    with source.open("rb") as src:
        _replace(target, mode, lambda f: shutil.copyfileobj(src, f, 1024 * 1024))


def read_own(path: Path, max_bytes: int) -> bytes | None:
    """The content of ``path`` if it is a regular file (not a link) of this user that no one
    else may write, of at most ``max_bytes``; else None. For cache entries wasmkit acts on
    (machine code the emulator runs, a bootstrap Envoy starts from): write them with
    ``mode=0o600`` in a ``0o700`` directory."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_uid != os.getuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
            or info.st_size > max_bytes
        ):
            return None
        data = f.read(max_bytes + 1)
    return data if len(data) <= max_bytes else None
