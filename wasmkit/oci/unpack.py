"""Take the module out of a verified layer blob, streaming, checking it is wasm and not too big."""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wasmkit.errors import LimitExceeded, ModuleError, TarFormatError
from wasmkit.oci._digest import CHUNK, MAX_MODULE_BYTES, WASM_MAGIC, HashingWriter
from wasmkit.oci._tarstream import Member, Sink, TarStream
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
#: A filter layer holds two files; more members than this is not a filter image.
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


class LayerScanner:
    """Finds ``plugin.wasm`` (and ``runtime-config.json``) in a tar(.gz) layer fed piece by
    piece, as a download delivers it: the module is checked (``\\0asm``, 256 MiB) and hashed
    (and written to ``dest``, if given) in that one pass.

    Bounded: at most :data:`MAX_INFLATED` bytes are inflated and :data:`MAX_MEMBERS` members
    read, whatever the layer claims.
    """

    def __init__(self, dest: Path | None):
        self._dest = dest
        self._members = 0
        self._module: HashingWriter | None = None
        self._file: BinaryIO | None = None
        self._head = b""  # the module's first bytes, until the magic is checked
        self._found: tuple[str, int] | None = None
        self._config: bytearray | None = None
        self._config_done: bytes | None = None
        self._stream = TarStream(self._open, max_inflated=MAX_INFLATED, too_much=_inflates_too_much)

    def feed(self, data: bytes) -> None:
        try:
            self._stream.feed(data)
        except TarFormatError as exc:
            raise _unreadable(exc) from None
        except BaseException:
            self.abort()
            raise

    def finish(self) -> Extracted:
        """The layer is all fed: what was found, or ModuleError."""
        try:
            self._stream.close()
        except TarFormatError as exc:
            raise _unreadable(exc) from None
        finally:
            self.abort()
        if self._found is None:
            raise ModuleError(
                f"the image's last layer holds no {PLUGIN_FILE}",
                hint="this image is not a wasm filter (Istio also needs plugin.wasm in the last "
                "layer)",
            )
        return Extracted(self._found[0], self._found[1], self._config_done)

    def abort(self) -> None:
        """Close the module file, if one is open (the caller removes its staging)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _open(self, member: Member) -> Sink | None:
        self._members += 1
        if self._members > MAX_MEMBERS:
            raise LimitExceeded(
                f"the layer's tar has more than {MAX_MEMBERS} members",
                hint="a filter layer holds plugin.wasm and runtime-config.json; "
                "this is not a filter image",
            )
        name = member.name.removeprefix("./").lstrip("/")
        if not member.regular:
            return None
        if name == PLUGIN_FILE:
            if member.size > MAX_MODULE_BYTES:
                raise ModuleError(f"{PLUGIN_FILE} is larger than 256 MiB")
            self.abort()
            self._file = self._dest.open("wb") if self._dest else None
            self._module = HashingWriter(self._file or _Discard())
            self._head = b""
            return self._module_piece
        if name == RUNTIME_CONFIG_FILE and member.size <= MAX_RUNTIME_CONFIG:
            self._config = bytearray()
            return self._config_piece
        return None

    def _module_piece(self, piece: bytes) -> None:
        module = self._module
        assert module is not None
        if len(self._head) < len(WASM_MAGIC):
            self._head += piece[: len(WASM_MAGIC) - len(self._head)]
            if (len(self._head) == len(WASM_MAGIC) or not piece) and self._head != WASM_MAGIC:
                raise ModuleError(
                    f"{PLUGIN_FILE} is not a WebAssembly module (it does not start with \\0asm)",
                    hint="this image is not a wasm filter; check the reference",
                )
        if piece:
            module.write(piece)
            if module.size > MAX_MODULE_BYTES:
                raise ModuleError(f"{PLUGIN_FILE} is larger than 256 MiB")
            return
        self.abort()
        self._found = (module.digest.hex, module.size)

    def _config_piece(self, piece: bytes) -> None:
        assert self._config is not None
        self._config += piece
        if not piece:
            self._config_done = bytes(self._config)


def _unreadable(exc: Exception) -> ModuleError:
    return ModuleError(
        f"the last layer is not a readable tar archive: {exc}",
        hint="the image is damaged or is not a filter image",
    )


def scan_tar(stream: BinaryIO, dest: Path | None) -> Extracted:
    """Find ``plugin.wasm`` (and ``runtime-config.json``) in a tar(.gz) read once, in order."""
    scanner = LayerScanner(dest)
    try:
        while chunk := stream.read(CHUNK):
            scanner.feed(chunk)
    except OSError as exc:
        scanner.abort()
        raise _unreadable(exc) from None
    return scanner.finish()
