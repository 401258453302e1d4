"""Finding 1 of the hostile-registry probe: a digest is input, and never names a file unchecked.

A registry we control serves manifests and indexes whose digests are paths (``sha256:`` and 64
characters of ``../``); the pull must refuse them (exit 2, a hint) before any file is created,
truncated, linked or recorded, inside the store or outside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.fake_registry import FakeRegistry, digest, wasm_of_size
from tests.integration.oci.hostile import snapshot, traversal_digest
from wasmkit.oci import LocalStore

pytestmark = pytest.mark.registry

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _manifest(config: dict[str, object], layers: list[dict[str, object]]) -> bytes:
    return json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers}
    ).encode()


def _serve_manifest(fake: FakeRegistry, repo: str, raw: bytes, kind: str = OCI_MANIFEST) -> None:
    fake.manifests[f"{repo}:v1"] = (raw, kind)
    fake.manifests[f"{repo}:{digest(raw)}"] = (raw, kind)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A module of the user's own outside the store, which a registry must not reach."""
    path = tmp_path / "victim" / "secret.wasm"
    path.parent.mkdir()
    path.write_bytes(wasm_of_size(4096))
    return path


def _assert_refused(
    result: Result, store: LocalStore, before: dict[str, bytes], root: Path
) -> None:
    assert result.code == 2, result.err
    assert "not a valid digest" in result.err and "hint:" in result.err
    assert "Traceback" not in result.err
    assert store.images() == []
    assert not (store.root / "modules").exists() or not any((store.root / "modules").iterdir())
    # nothing created, truncated or removed anywhere under the test's directory but the store
    assert snapshot(root, exclude=store.root) == before


def test_a_layer_digest_that_names_a_module_outside_the_store(
    tmp_path: Path, store: LocalStore, victim: Path, wasmkit: Callable[..., Result]
) -> None:
    with FakeRegistry().serve() as fake:
        config = b"{}"
        fake.blobs[digest(config)] = config
        evil = traversal_digest(store.root / "blobs" / "sha256", victim)
        raw = _manifest(
            {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(config),
                "size": 2,
            },
            [{"mediaType": "application/wasm", "digest": evil, "size": victim.stat().st_size}],
        )
        _serve_manifest(fake, "x/link", raw)
        before = snapshot(tmp_path, exclude=store.root)
        result = wasmkit("pull", f"{fake.host}/x/link:v1", "--plain-http")
    _assert_refused(result, store, before, tmp_path)
    assert victim.stat().st_nlink == 1  # not hard-linked into the store


def test_a_layer_digest_that_names_a_partial_file_outside_the_store(
    tmp_path: Path, store: LocalStore, wasmkit: Callable[..., Result]
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.partial").write_bytes(b"the user's data")
    with FakeRegistry().serve() as fake:
        config = b"{}"
        fake.blobs[digest(config)] = config
        store.root.joinpath("tmp").mkdir(parents=True)
        # staging is store/tmp/<pid>-<random>/<hex>.partial: climb out of it
        evil = traversal_digest(store.root / "tmp" / "0-x", outside / "keep")
        raw = _manifest(
            {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(config),
                "size": 2,
            },
            [{"mediaType": "application/wasm", "digest": evil, "size": 10}],
        )
        fake.blobs[evil] = b"0123456789"
        _serve_manifest(fake, "x/partial", raw)
        before = snapshot(tmp_path, exclude=store.root)
        result = wasmkit("pull", f"{fake.host}/x/partial:v1", "--plain-http")
    _assert_refused(result, store, before, tmp_path)
    assert (outside / "keep.partial").read_bytes() == b"the user's data"


@pytest.mark.parametrize(
    "bad",
    [
        "sha256:" + "A" * 64,  # upper case is not the registered encoding
        "sha256:" + "a" * 63,
        "sha512:" + "a" * 128,  # a valid OCI digest, but not one wasmkit verifies
        "sha256:" + "a" * 64 + "\n",
        "md5:" + "a" * 32,
    ],
)
def test_an_index_entry_with_an_invalid_digest(
    tmp_path: Path, store: LocalStore, wasmkit: Callable[..., Result], bad: str
) -> None:
    with FakeRegistry().serve() as fake:
        index = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    {
                        "mediaType": OCI_MANIFEST,
                        "digest": bad,
                        "size": 10,
                        "platform": {"architecture": "wasm", "os": "wasip1"},
                    }
                ],
            }
        ).encode()
        _serve_manifest(fake, "x/index", index, "application/vnd.oci.image.index.v1+json")
        before = snapshot(tmp_path, exclude=store.root)
        result = wasmkit("pull", f"{fake.host}/x/index:v1", "--plain-http")
    _assert_refused(result, store, before, tmp_path)


def test_a_manifest_whose_digest_header_disagrees_with_its_bytes(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    with FakeRegistry().serve() as fake:
        fake.add_image("x/header", "v1", b"{}", [("application/wasm", module.read_bytes())])
        fake.headers["Docker-Content-Digest"] = "sha256:" + "0" * 64
        result = wasmkit("pull", f"{fake.host}/x/header:v1", "--plain-http")
        fake.headers["Docker-Content-Digest"] = "sha256:../../../../etc/passwd"
        invalid = wasmkit("pull", f"{fake.host}/x/header:v1", "--plain-http")
    assert result.code == 3 and "does not match" in result.err and "hint:" in result.err
    assert invalid.code == 2 and "not a valid digest" in invalid.err
    assert store.images() == []


def test_a_store_index_edited_to_point_outside_the_store(
    tmp_path: Path, store: LocalStore, module: Path, victim: Path, wasmkit: Callable[..., Result]
) -> None:
    record = store.add_module(module, "local/ok:v1", root_ids=["r"], abi_versions=["0.2.1"])
    index = store.root / "index.json"
    data = json.loads(index.read_text())
    evil = traversal_digest(store.root / "images", victim.with_suffix(""))
    data["refs"][store.key("local/evil:v1")] = evil
    index.write_text(json.dumps(data))
    listed = wasmkit("images")
    assert listed.code == 0 and "local/ok" in listed.out and "local/evil" not in listed.out
    shown = wasmkit("inspect", "local/evil:v1")
    assert shown.code == 2 and "hint:" in shown.err
    # the next write of the index drops the bad entry; the good image is untouched
    assert wasmkit("rm", "local/ok:v1").code == 0
    assert json.loads(index.read_text())["refs"] == {}
    assert victim.is_file() and record.manifest_digest
