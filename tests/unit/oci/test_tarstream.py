"""The streaming tar reader agrees with ``tarfile`` on what ``tarfile`` writes, whatever the
pieces it is fed in, and refuses what ``tarfile`` refuses."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from wasmkit.errors import LimitExceeded, ModuleError, TarFormatError
from wasmkit.oci._tarstream import Member, Sink, TarStream
from wasmkit.oci.unpack import LayerScanner, scan_tar


class Bomb(Exception):
    pass


def _archive(members: dict[str, bytes], fmt: int = tarfile.PAX_FORMAT, **extra: object) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, **extra) as tar:  # type: ignore[call-overload]
        for name, data in members.items():
            if name.endswith("/"):
                info = tarfile.TarInfo(name.rstrip("/"))
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _read(data: bytes, piece: int, max_inflated: int = 1 << 30) -> dict[str, bytes]:
    """Every regular member's data, as the stream saw it fed ``piece`` bytes at a time."""
    got: dict[str, bytes] = {}

    def open_member(member: Member) -> Sink | None:
        if not member.regular:
            return None
        parts: list[bytes] = []

        def sink(chunk: bytes) -> None:
            if chunk:
                parts.append(chunk)
            else:
                got[member.name] = b"".join(parts)

        return sink

    def bomb() -> Exception:
        return Bomb()

    stream = TarStream(open_member, max_inflated=max_inflated, too_much=bomb)
    for start in range(0, len(data), piece):
        stream.feed(data[start : start + piece])
    stream.close()
    return got


def _tarfile_view(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|*") as tar:
        return {
            m.name: tar.extractfile(m).read()  # type: ignore[union-attr]
            for m in tar
            if m.isfile()
        }


LONG = "d/" * 70 + "plugin.wasm"  # 151 characters: needs a ustar prefix, a GNU or a pax name
MEMBERS = {
    "plugin.wasm": b"\0asm\1\0\0\0" + os.urandom(3000),
    "runtime-config.json": b'{"type":"envoy_proxy"}',
    "empty": b"",
    "dir/": b"",
    LONG: b"x" * 513,
}


@pytest.mark.parametrize("fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("piece", [1, 7, 512, 1 << 20])
def test_agrees_with_tarfile(fmt: int, compress: bool, piece: int) -> None:
    data = _archive(MEMBERS, fmt)
    if compress:
        data = gzip.compress(data)
    assert _read(data, piece) == _tarfile_view(data)
    assert _read(data, piece)[LONG] == b"x" * 513


def test_pax_overrides_and_gzip_members_in_a_row() -> None:
    data = _archive({"a" * 120: b"pax-named"}, tarfile.PAX_FORMAT, pax_headers={"comment": "x"})
    assert _read(data, 100) == {"a" * 120: b"pax-named"}
    split = len(data) // 2  # one archive over two gzip members, padded with zeros after them
    twice = gzip.compress(data[:split]) + gzip.compress(data[split:]) + b"\0" * 10
    assert _read(twice, 3) == _tarfile_view(twice) == {"a" * 120: b"pax-named"}


def test_stops_at_the_end_block_and_ignores_what_follows() -> None:
    data = _archive({"a": b"1"}) + b"garbage that tarfile never reads" * 100
    assert _read(data, 64) == {"a": b"1"}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d[:100] + b"Z" + d[101:], "checksum"),
        (lambda d: d[:700], "unexpected end"),
        (lambda d: gzip.compress(d)[:-20], "end marker"),
        (lambda d: gzip.compress(d[:1024]) + b"not gzip", "not gzip"),
        (lambda d: b"\0" * 1024, "empty file"),
        (lambda d: b"", "empty file"),
    ],
)
def test_damaged_archives_are_refused(damage: object, message: str) -> None:
    data = damage(_archive({"plugin.wasm": b"\0asm" + b"y" * 2000}))  # type: ignore[operator]
    with pytest.raises(TarFormatError, match=message):
        _read(data, 333)


def test_a_member_claiming_more_than_the_bound_is_refused_before_its_data() -> None:
    data = _archive({"big": b"z" * 5000})
    with pytest.raises(Bomb):
        _read(data[:1024], 1024, max_inflated=4096)  # refused at the header


def test_a_gzip_bomb_is_refused_as_it_inflates() -> None:
    bomb = gzip.compress(_archive({"plugin.wasm": b"\0asm" + bytes(20 << 20)}), 9)
    assert len(bomb) < 64 * 1024
    with pytest.raises(Bomb):
        _read(bomb, 1 << 20, max_inflated=1 << 20)


# The filter layer on top of the stream: what a pull sees.


def _layer(members: dict[str, bytes]) -> bytes:
    return gzip.compress(_archive(members))


def test_the_scanner_finds_and_writes_the_module(tmp_path: Path) -> None:
    module = b"\0asm\1\0\0\0" + os.urandom(100_000)
    scanner = LayerScanner(tmp_path / "m.wasm")
    layer = _layer({"./plugin.wasm": module, "runtime-config.json": b"{}"})
    for start in range(0, len(layer), 999):
        scanner.feed(layer[start : start + 999])
    found = scanner.finish()
    assert found.size == len(module) and found.runtime_config == b"{}"
    assert (tmp_path / "m.wasm").read_bytes() == module
    import hashlib

    assert found.sha256 == hashlib.sha256(module).hexdigest()


@pytest.mark.parametrize(
    ("members", "error", "message"),
    [
        ({"plugin.wasm": b"\0as"}, ModuleError, "not a WebAssembly module"),
        ({"plugin.wasm": b"ELF" + b"\0" * 100}, ModuleError, "not a WebAssembly module"),
        ({"other.wasm": b"\0asm"}, ModuleError, "holds no plugin.wasm"),
        ({f"f{i}": b"" for i in range(1001)}, LimitExceeded, "more than 1000 members"),
    ],
)
def test_the_scanner_refuses_what_is_not_a_filter_layer(
    members: dict[str, bytes], error: type[Exception], message: str, tmp_path: Path
) -> None:
    with pytest.raises(error, match=message):
        scan_tar(io.BytesIO(_layer(members)), tmp_path / "m.wasm")


def test_a_damaged_layer_is_a_module_error_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ModuleError, match="not a readable tar archive") as caught:
        scan_tar(io.BytesIO(_layer({"plugin.wasm": b"\0asm"})[:-30]), None)
    assert caught.value.hint
