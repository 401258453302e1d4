"""wasmkit._atomic: whole files or nothing, temporary names nobody else picks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from wasmkit import _atomic
from wasmkit._atomic import copy_atomic, temp_sibling, write_atomic


def test_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    write_atomic(target, "new ✓")
    assert target.read_text(encoding="utf-8") == "new ✓"
    write_atomic(target, b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_copy_replaces_the_target(tmp_path: Path) -> None:
    source = tmp_path / "a.wasm"
    source.write_bytes(b"\0asm" + bytes(range(256)) * 5000)
    target = tmp_path / "b.wasm"
    target.write_bytes(b"old")
    copy_atomic(source, target)
    assert target.read_bytes() == source.read_bytes()


def test_secret_mode_and_default_mode(tmp_path: Path) -> None:
    write_atomic(tmp_path / "creds", "x", mode=0o600)
    assert stat.S_IMODE((tmp_path / "creds").stat().st_mode) == 0o600
    write_atomic(tmp_path / "plain", "x")
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) & 0o644 == 0o644


def test_two_writers_never_share_a_temporary_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str] = []
    real_open = os.open

    def spy(path: str | Path, flags: int, mode: int = 0o777) -> int:
        names.append(Path(path).name)
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", spy)
    write_atomic(tmp_path / "f", "1")
    write_atomic(tmp_path / "f", "2")
    assert len(set(names)) == 2
    assert all(n.startswith(".f.") and n.endswith(".tmp") for n in names)


def test_a_failed_write_keeps_the_old_file_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "keep"
    target.write_text("old")
    missing = tmp_path / "no-such-source"
    with pytest.raises(FileNotFoundError):
        copy_atomic(missing, target)

    class Boom(Exception):
        pass

    def fail(_: object) -> None:
        raise Boom

    with pytest.raises(Boom):
        _atomic._replace(target, 0o666, fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep"]


def test_a_temporary_sibling_for_a_subprocess_is_hidden_beside_and_unique(tmp_path: Path) -> None:
    first, second = temp_sibling(tmp_path / "istiod"), temp_sibling(tmp_path / "istiod")
    assert first != second and first.parent == second.parent == tmp_path
    assert first.name.startswith(".istiod.") and first.name.endswith(".tmp")
