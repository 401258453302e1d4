"""Taking named files out of layer tars: order, whiteouts, links, hostile names, bounds."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from wasmkit.errors import LimitExceeded, UsageError
from wasmkit.oci.image_files import Limits, apply_layer

WANTED = "usr/local/bin/pilot-discovery"


def layer(
    *members: tuple[str, bytes | None], gz: bool = True, kind: bytes = tarfile.REGTYPE
) -> io.BytesIO:
    """A layer blob: (name, content) files; content None is a symlink of that name."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            if content is None:
                info.type, info.linkname = tarfile.SYMTYPE, "/bin/sh"
                tar.addfile(info)
            else:
                info.type, info.size = kind, len(content)
                tar.addfile(info, io.BytesIO(content))
    data = raw.getvalue()
    return io.BytesIO(gzip.compress(data) if gz else data)


def apply(
    tmp_path: Path, layers: list[io.BytesIO], limits: Limits | None = None
) -> dict[str, bytes]:
    found: dict[str, Path] = {}
    for index, blob in enumerate(layers):
        apply_layer(
            blob, {WANTED: tmp_path / f"f{index}"}, found, f"layer {index}", limits or Limits()
        )
    return {name: path.read_bytes() for name, path in found.items()}


def test_the_last_layer_that_has_the_file_wins(tmp_path: Path) -> None:
    got = apply(
        tmp_path,
        [
            layer((WANTED, b"old"), ("etc/passwd", b"x")),
            layer(("other", b"y")),
            layer((f"./{WANTED}", b"new"), gz=False),
        ],
    )
    assert got == {WANTED: b"new"}


def test_a_whiteout_removes_the_file_of_lower_layers(tmp_path: Path) -> None:
    assert (
        apply(tmp_path, [layer((WANTED, b"a")), layer(("usr/local/bin/.wh.pilot-discovery", b""))])
        == {}
    )
    # a whited-out directory, and an opaque directory, remove it too
    assert apply(tmp_path, [layer((WANTED, b"a")), layer(("usr/local/.wh.bin", b""))]) == {}
    assert (
        apply(tmp_path, [layer((WANTED, b"a")), layer(("usr/local/bin/.wh..wh..opq", b""))]) == {}
    )
    # a whiteout of another file, or one in the layer that also adds the file, keeps it
    assert apply(
        tmp_path, [layer((WANTED, b"a")), layer(("usr/local/bin/.wh.pilot-agent", b""))]
    ) == {WANTED: b"a"}
    assert apply(
        tmp_path,
        [layer((WANTED, b"a")), layer(("usr/local/bin/.wh..wh..opq", b""), (WANTED, b"b"))],
    ) == {WANTED: b"b"}


def test_a_link_in_a_later_layer_hides_the_file(tmp_path: Path) -> None:
    assert apply(tmp_path, [layer((WANTED, b"a")), layer((WANTED, None))]) == {}


def test_hostile_member_names_write_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    blob = layer(("../x", b"evil"), ("/abs", b"evil"), (f"../{WANTED}", b"evil"), (WANTED, b"good"))
    found: dict[str, Path] = {}
    apply_layer(blob, {WANTED: work / "f"}, found, "layer 0")
    assert found == {WANTED: work / "f"} and (work / "f").read_bytes() == b"good"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["f", "work"]
    assert not Path("/abs").exists()


def test_bounds(tmp_path: Path) -> None:
    with pytest.raises(LimitExceeded, match="pilot-discovery in layer 0 is larger than"):
        apply(tmp_path, [layer((WANTED, b"x" * (2 * 1024 * 1024)))], Limits(file=1024 * 1024))
    bomb = layer(("big", b"\0" * (3 * 1024 * 1024)))
    with pytest.raises(LimitExceeded, match="layer 0 inflated is larger than") as caught:
        apply(tmp_path, [bomb], Limits(inflated=1024 * 1024))
    assert caught.value.exit_code == 2
    many = layer(*((f"f{i}", b"") for i in range(20)))
    with pytest.raises(LimitExceeded, match="more than 10 tar members"):
        apply(tmp_path, [many], Limits(members=10))


def test_not_a_tar_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a readable tar archive") as caught:
        apply(tmp_path, [io.BytesIO(gzip.compress(b"not a tar" * 100))])
    assert caught.value.hint
