"""A tar archive, gzip-compressed or not, read as it arrives: fed in pieces, never seeked.

A pull hands each piece of the layer to :class:`TarStream` while it downloads it, so the module
inside is found, checked and hashed in the same pass that writes and verifies the blob (a
second read of a 100 MiB layer through ``tarfile`` and ``gzip`` took longer than the download
itself). What is read, as ``tarfile`` reads it: ustar, GNU and v7 headers (names with a ustar
prefix, GNU long names, sizes in octal or base-256), pax extended headers (``path`` and
``size``, per member or global), header checksums (signed or unsigned), members until the
first zero block; gzip with several members and zero padding after them.

Bounds: at most ``max_inflated`` bytes are inflated (a bomb is refused as soon as it passes
that, or as soon as a header claims more), each inflate step makes at most one chunk, and
metadata (pax records, long names) is at most 64 KiB per member.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

from wasmkit.errors import TarFormatError

BLOCK = 512
_GZIP_MAGIC = b"\x1f\x8b"
#: compressed bytes per inflate step, and the most one step may make (bounds memory whatever
#: the ratio); small enough that what was inflated is still in the CPU cache when it is hashed
_IN_STEP = 64 * 1024
_STEP = 256 * 1024
#: pax records or a GNU long name of one member
MAX_META = 64 * 1024
_REGULAR = {b"0", b"\0", b"7"}
_META = {b"x", b"g", b"L", b"K"}

#: Called with a member's data piece by piece, then once with b"" at its end.
Sink = Callable[[bytes], None]


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    regular: bool


def _number(field: bytes) -> int:
    """A header number: octal text, or base-256 when the first byte's top bit is set."""
    if field[:1] in (b"\x80", b"\xff"):
        value = int.from_bytes(field[1:], "big")
        return value - (256 ** (len(field) - 1)) if field[0] == 0xFF else value
    text = field.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    try:
        return int(text, 8)
    except ValueError:
        raise TarFormatError(f"a header field is not a number: {text[:20]!r}") from None


def _checksum_ok(header: bytes) -> bool:
    stored = _number(header[148:156])
    unsigned = sum(header[:148]) + sum(header[156:]) + 8 * 32
    signed = unsigned - sum(256 for b in header[:148] + header[156:] if b > 127)
    return stored in (unsigned, signed)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax(data: bytes) -> dict[str, str]:
    """``%d key=value\\n`` records."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos : pos + 1] != b"\0":
        space = data.find(b" ", pos)
        length = data[pos:space]
        if space < 0 or not length.isdigit() or int(length) <= space - pos:
            raise TarFormatError("a pax header record is malformed")
        end = pos + int(length)
        record = data[space + 1 : end]
        if end > len(data) or not record.endswith(b"\n") or b"=" not in record:
            raise TarFormatError("a pax header record is malformed")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos = end
    return records


class TarStream:
    """Feed the archive's bytes in order; ``open_member`` is asked, per member, for a sink to
    pass its data to (None: skip it). :meth:`close` says whether the archive was whole."""

    def __init__(
        self,
        open_member: Callable[[Member], Sink | None],
        *,
        max_inflated: int,
        too_much: Callable[[], Exception],
    ):
        self._open_member = open_member
        self._max_inflated = max_inflated
        self._too_much = too_much
        self._pos = 0  # bytes of the tar stream (inflated) parsed
        self.ended = False  # the end-of-archive block was read
        self._kind: str | None = None  # "gzip" | "tar", known after two bytes
        self._head = b""
        self._inflater: zlib._Decompress | None = None
        self._between = b""  # bytes after a gzip member (padding, or the next member's start)
        self._header = bytearray()
        self._left = 0  # data bytes of the current member still to come
        self._pad = 0  # padding bytes after them
        self._sink: Sink | None = None
        self._meta: bytearray | None = None
        self._meta_kind = b""
        self._next: dict[str, str] = {}  # pax or GNU overrides for the next member
        self._global: dict[str, str] = {}

    # -- compression ------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        if self.ended or not data:
            return
        if self._kind is None:
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            self._kind = "gzip" if data.startswith(_GZIP_MAGIC) else "tar"
        if self._kind == "tar":
            self._tar(data)
            return
        self._inflate(data)

    def _inflate(self, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), _IN_STEP):
            self._inflate_step(view[start : start + _IN_STEP])

    def _inflate_step(self, data: bytes | memoryview) -> None:
        while data and not self.ended:
            if self._inflater is None:
                self._between += bytes(data)
                rest = self._between.lstrip(b"\0")  # gzip allows zero padding after a member
                if len(rest) < 2:
                    self._between = rest
                    return
                if not rest.startswith(_GZIP_MAGIC):
                    raise TarFormatError("data after the gzip stream is not gzip")
                data, self._between = rest, b""
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            try:
                out = self._inflater.decompress(data, _STEP)
            except zlib.error as exc:
                raise TarFormatError(f"the gzip stream is damaged: {exc}") from None
            self._tar(out)
            if self._inflater.eof:
                data = self._inflater.unused_data
                self._inflater = None
            else:
                data = self._inflater.unconsumed_tail

    def close(self) -> None:
        """The archive's bytes are all fed: an archive cut short is TarFormatError."""
        if self.ended:
            return
        if self._kind is None:
            raise TarFormatError("empty file")
        if self._inflater is not None:
            raise TarFormatError("the gzip stream ends before its end marker")
        if self._left or self._pad or self._header or self._meta is not None:
            raise TarFormatError("unexpected end of data")

    # -- tar --------------------------------------------------------------------------------

    def _tar(self, data: bytes) -> None:
        if self._pos + len(data) > self._max_inflated:
            raise self._too_much()
        view = memoryview(data)
        while view and not self.ended:
            if self._left:
                piece = view[: self._left]
                self._left -= len(piece)
                self._pos += len(piece)
                view = view[len(piece) :]
                self._deliver(bytes(piece))
                if not self._left:
                    self._member_done()
            elif self._pad:
                skipped = min(self._pad, len(view))
                self._pad -= skipped
                self._pos += skipped
                view = view[skipped:]
            else:
                taken = view[: BLOCK - len(self._header)]
                self._header += taken
                self._pos += len(taken)
                view = view[len(taken) :]
                if len(self._header) == BLOCK:
                    header, self._header = bytes(self._header), bytearray()
                    self._start(header)

    def _deliver(self, piece: bytes) -> None:
        if self._meta is not None:
            self._meta += piece
            if len(self._meta) > MAX_META:
                raise TarFormatError(f"a member's metadata is over {MAX_META // 1024} KiB")
        elif self._sink is not None:
            self._sink(piece)

    def _start(self, header: bytes) -> None:
        if header.count(0) == BLOCK:
            if self._pos == BLOCK:
                raise TarFormatError("empty file")
            self.ended = True
            return
        if not _checksum_ok(header):
            raise TarFormatError("bad checksum in a header")
        kind = header[156:157]
        size = _number(header[124:136])
        name = _text(header[0:100])
        if header[257:263] == b"ustar\0" and header[345:346] != b"\0":  # POSIX, not GNU
            name = _text(header[345:500]) + "/" + name
        overrides = {**self._global, **self._next}
        if kind not in _META:
            self._next = {}
            name = overrides.get("path", name)
            if "size" in overrides:
                if not overrides["size"].isdigit():
                    raise TarFormatError("a pax size is not a number")
                size = int(overrides["size"])
        if size < 0:
            raise TarFormatError("a header gives a negative size")
        if self._pos + size > self._max_inflated:  # refused before its data is read
            raise self._too_much()
        self._left, self._pad = size, -size % BLOCK
        if kind in _META:
            if size > MAX_META:
                raise TarFormatError(f"a member's metadata is over {MAX_META // 1024} KiB")
            self._meta, self._meta_kind = bytearray(), kind
        else:
            member = Member(name, size, kind in _REGULAR)
            self._sink = self._open_member(member)
        if not size:
            self._member_done()

    def _member_done(self) -> None:
        if self._meta is not None:
            meta, self._meta = bytes(self._meta), None
            if self._meta_kind == b"x":
                self._next.update(_pax(meta))
            elif self._meta_kind == b"g":
                self._global.update(_pax(meta))
            elif self._meta_kind == b"L":
                self._next["path"] = _text(meta)
            return
        sink, self._sink = self._sink, None
        if sink is not None:
            sink(b"")
