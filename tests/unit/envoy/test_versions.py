"""Choosing a cached Envoy release without touching the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmkit.envoy import versions
from wasmkit.errors import UsageError


def _fake(cache: Path, version: str) -> Path:
    binary = cache / version / "envoy"
    binary.parent.mkdir(parents=True)
    binary.write_text(
        "#!/bin/sh\necho 'envoy  version: abc/" + version + "/Clean/RELEASE/BoringSSL'\n"
    )
    binary.chmod(0o755)
    return binary


def test_newest_cached_patch_release_wins(tmp_path: Path) -> None:
    _fake(tmp_path, "1.36.2")
    newest = _fake(tmp_path, "1.36.10")
    _fake(tmp_path, "1.37.0")
    found = versions.ensure_envoy("1.36", cache=tmp_path)
    assert found.path == newest and found.version == "1.36.10"
    assert versions.ensure_envoy("1.36.2", cache=tmp_path).version == "1.36.2"
    # `1.36.x`, as release notes write a minor, means the same as `1.36`.
    assert versions.ensure_envoy("1.36.x", cache=tmp_path).path == newest


@pytest.mark.parametrize("bad", ["1", "latest", "1.x", "1.36.y", "1.36; rm -rf /"])
def test_bad_versions_are_usage_errors(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UsageError):
        versions.ensure_envoy(bad, cache=tmp_path)
