"""Take the module out of a verified layer blob, streaming, checking it is wasm and not too big."""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast

from wasmkit.errors import LimitExceeded, ModuleError
from wasmkit.oci._digest import CHUNK, MAX_MODULE_BYTES, WASM_MAGIC, HashingWriter
from wasmkit.oci.layout import MAX_RUNTIME_CONFIG, PLUGIN_FILE, RUNTIME_CONFIG_FILE, ModuleLocation


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


def _copy_module(src: IO[bytes], dest: Path | None, limit: int, what: str) -> tuple[str, int]:
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
    return writer.digest.hex, writer.size


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
        return Extracted(location.layer.digest.hex, size, None)
    with layer_file.open("rb") as f:
        return scan_tar(f, dest)


#: What a layer may inflate to: the largest module Istio takes and 1 MiB of everything else.
MAX_INFLATED = MAX_MODULE_BYTES + 1024 * 1024
#: A filter layer holds two files; tarfile keeps every member it read in a list.
MAX_MEMBERS = 1000


class Inflated:
    """The decompressed bytes of a layer, counted: more than ``limit`` is a bomb (``too_much``)."""

    def __init__(
        self,
        source: BinaryIO | gzip.GzipFile,
        limit: int = MAX_INFLATED,
        too_much: Callable[[], Exception] | None = None,
    ):
        self._source = source
        self._limit = limit
        self._too_much = too_much or _inflates_too_much
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._source.read(n)
        self.size += len(data)
        if self.size > self._limit:
            raise self._too_much()
        return data


def open_layer(stream: BinaryIO) -> BinaryIO | gzip.GzipFile:
    """A layer blob's tar stream: inflated when the blob is gzip (by its magic, not its type)."""
    head = stream.read(2)
    stream.seek(0)
    return gzip.GzipFile(fileobj=stream, mode="rb") if head == b"\x1f\x8b" else stream


def _inflates_too_much() -> LimitExceeded:
    return LimitExceeded(
        f"the layer inflates to more than {MAX_INFLATED // (1024 * 1024)} MiB",
        hint="a filter layer holds one module of at most 256 MiB; "
        "this one is a decompression bomb or not a filter image",
    )


def scan_tar(stream: BinaryIO, dest: Path | None) -> Extracted:
    """Find ``plugin.wasm`` (and ``runtime-config.json``) in a tar(.gz) read once, in order.

    Bounded: at most :data:`MAX_INFLATED` bytes are inflated and :data:`MAX_MEMBERS` members
    read, whatever the layer claims.
    """
    found: tuple[str, int] | None = None
    config: bytes | None = None
    try:
        with tarfile.open(fileobj=cast(BinaryIO, Inflated(open_layer(stream))), mode="r|") as tar:
            for count, member in enumerate(tar, 1):
                if count > MAX_MEMBERS:
                    raise LimitExceeded(
                        f"the layer's tar has more than {MAX_MEMBERS} members",
                        hint="a filter layer holds plugin.wasm and runtime-config.json; "
                        "this is not a filter image",
                    )
                if member.offset_data + member.size > MAX_INFLATED:  # refused before it is read
                    raise _inflates_too_much()
                name = member.name.removeprefix("./").lstrip("/")
                if not member.isfile() or name not in (PLUGIN_FILE, RUNTIME_CONFIG_FILE):
                    continue
                source = tar.extractfile(member)
                assert source is not None
                if name == PLUGIN_FILE:
                    if member.size > MAX_MODULE_BYTES:
                        raise ModuleError(f"{PLUGIN_FILE} is larger than 256 MiB")
                    found = _copy_module(source, dest, MAX_MODULE_BYTES, PLUGIN_FILE)
                elif member.size <= MAX_RUNTIME_CONFIG:
                    config = source.read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
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
