"""Byte formats of the proxy-wasm ABI: header maps and property paths.

A serialized map is ``u32 count``, then ``u32 key_len, u32 value_len`` per pair,
then each key and value followed by a NUL byte (little endian throughout).
A property path is its segments joined by NUL bytes (``request\\0path``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from wasmkit.errors import DecodeError

Pairs = list[tuple[str, str]]


def encode_pairs(pairs: Sequence[tuple[str, str | bytes]]) -> bytes:
    """The header-map format; a bytes value goes as it is (Envoy nests maps this way)."""
    encoded = [(k.encode(), v if isinstance(v, bytes) else v.encode()) for k, v in pairs]
    head = [struct.pack("<I", len(encoded))]
    head += [struct.pack("<II", len(k), len(v)) for k, v in encoded]
    body = [k + b"\0" + v + b"\0" for k, v in encoded]
    return b"".join(head + body)


def decode_pairs(data: bytes) -> Pairs:
    """Parse a serialized map; DecodeError when the sizes do not add up."""
    if not data:
        return []
    if len(data) < 4:
        raise DecodeError("a header map needs at least 4 bytes")
    (count,) = struct.unpack_from("<I", data, 0)
    if 4 + count * 8 > len(data):
        raise DecodeError(f"a header map claims {count} pairs but holds {len(data)} bytes")
    sizes = [struct.unpack_from("<II", data, 4 + i * 8) for i in range(count)]
    offset = 4 + count * 8
    pairs: Pairs = []
    for key_len, value_len in sizes:
        end = offset + key_len + 1 + value_len + 1
        if end > len(data):
            raise DecodeError("a header map entry runs past the end of the data")
        if data[offset + key_len] != 0 or data[end - 1] != 0:
            raise DecodeError("a header map entry is not NUL-terminated")
        key = data[offset : offset + key_len]
        value = data[offset + key_len + 1 : offset + key_len + 1 + value_len]
        pairs.append((key.decode("utf-8", "replace"), value.decode("utf-8", "replace")))
        offset = end
    if offset != len(data):
        raise DecodeError(f"a header map has {len(data) - offset} bytes after its last entry")
    return pairs


def host_pairs(data: bytes) -> Pairs:
    """A map the guest hands the host, read as Envoy (proxy-wasm-cpp-host's toPairs) reads it:
    any flaw - sizes that do not add up, a missing NUL, bytes after the last entry - makes it
    an empty map, not an error (so an HTTP call then lacks :path and is refused)."""
    try:
        return decode_pairs(data)
    except DecodeError:
        return []


def split_path(data: bytes) -> tuple[str, ...]:
    return tuple(part.decode("utf-8", "replace") for part in data.rstrip(b"\0").split(b"\0"))


def u32(value: int) -> bytes:
    return struct.pack("<I", value & 0xFFFFFFFF)


def u64(value: int) -> bytes:
    return struct.pack("<Q", value & 0xFFFFFFFFFFFFFFFF)


def i64(value: int) -> bytes:
    return struct.pack("<q", value)
