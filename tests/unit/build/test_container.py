"""What the container runner shows: mount points turned back into the host's paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmkit.build.container import host_paths
from wasmkit.build.runner import Workspace

WS = Workspace(src=Path("/home/u/f"), out=Path("/home/u/f/build"), cache=Path("/home/u/.c/cpp"))


@pytest.mark.parametrize(
    ("seen", "shown"),
    [
        ("/src/filter.cc:51:1: error: x", "/home/u/f/filter.cc:51:1: error: x"),
        ("In file included from /src/sdk/a.h:3:", "In file included from /home/u/f/sdk/a.h:3:"),
        ("wrote /out", "wrote /home/u/f/build"),
        ('npm cache "/cache/npm"', 'npm cache "/home/u/.c/cpp/npm"'),
        ("cwd=/src/sub (/cache/home)", "cwd=/home/u/f/sub (/home/u/.c/cpp/home)"),
    ],
)
def test_mount_points_become_host_paths(seen: str, shown: str) -> None:
    assert host_paths(seen, WS) == shown


@pytest.mark.parametrize(
    "text",
    [
        "/usr/src/rustc-1.96.0/library/core/src/lib.rs",
        "/usr/lib/rustlib/src/rust/library",
        "/srcs/x and /outer and /cached",
        "timed/out, ./src/main.rs, ~/src/x",
    ],
)
def test_other_paths_are_left_alone(text: str) -> None:
    assert host_paths(text, WS) == text
