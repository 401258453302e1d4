"""Finding 6 of the hostile-input probe: no interleaving of pull, tag and rm leaves a listed
image incomplete or a reference that cannot be removed.

The interleavings are made to happen, not hoped for: a registry of the test's own stalls a
pull half-way while ``rm`` runs, and a store whose lock waits for the test lets ``rm`` run
between the moment ``tag`` looked its source up and the moment it writes.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.fake_registry import FakeRegistry, wasm_of_size
from wasmkit.errors import UnknownImage
from wasmkit.oci import LocalStore, RegistryOptions, pull

pytestmark = pytest.mark.registry

PLAIN = RegistryOptions(plain_http=True, timeout=10)
CONFIG = b'{"architecture":"wasm","os":"wasip1"}'


def _complete(store: LocalStore) -> None:
    """Every listed image has its manifest, config and module layer, and can be inspected."""
    for record in store.images():
        manifest = store.manifest(record)
        for blob in (manifest.config, manifest.layers[-1]):
            assert store.has_blob(blob.digest), f"{record.ref} lost {blob.digest}"
        assert store.module_path(record.ref).is_file()


def test_rm_during_a_pull_that_shares_a_blob(store: LocalStore) -> None:
    with FakeRegistry().serve() as fake:
        fake.add_image("x/y", "v1", CONFIG, [("application/wasm", wasm_of_size(4096))])
        stalled = wasm_of_size(2 * 1024 * 1024)
        layer = fake.add_image("x/x", "v1", CONFIG, [("application/wasm", stalled)])
        pull(store, f"{fake.host}/x/y:v1", PLAIN)  # the store now holds the shared config
        manifest = json.loads(fake.manifests[f"x/x:{layer}"][0])
        fake.stall_blob = manifest["layers"][0]["digest"]
        errors: list[BaseException] = []

        def pull_x() -> None:
            try:
                pull(store, f"{fake.host}/x/x:v1", PLAIN)
            except BaseException as exc:  # reported below
                errors.append(exc)

        worker = threading.Thread(target=pull_x)
        worker.start()
        assert fake.half_sent.wait(30)
        store.remove(f"{fake.host}/x/y:v1")  # the only other user of the config: collected
        fake.release.set()
        worker.join(60)
    assert not errors, errors
    assert [r.ref for r in store.images()] == [f"{fake.host}/x/x:v1"]
    _complete(store)


class _HeldStore(LocalStore):
    """A store whose next lock, taken by the thread named ``held``, waits for ``go``."""

    def __init__(self, home: Path):
        super().__init__(home)
        self.waiting, self.go = threading.Event(), threading.Event()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if threading.current_thread().name == "held" and not self.go.is_set():
            self.waiting.set()
            self.go.wait(30)
        with super()._locked():
            yield


def test_tag_racing_rm_of_its_source(home: Path, module: Path) -> None:
    store = _HeldStore(home)
    store.add_module(module, "local/a:v1", root_ids=["r"], abi_versions=["0.2.1"])
    outcome: list[object] = []

    def tag() -> None:
        try:
            outcome.append(store.tag("local/a:v1", "local/b:v1"))
        except UnknownImage as exc:
            outcome.append(exc)

    worker = threading.Thread(target=tag, name="held")
    worker.start()
    assert store.waiting.wait(30)
    store.remove("local/a:v1")  # between tag's look-up and its write
    store.go.set()
    worker.join(30)
    assert len(outcome) == 1 and isinstance(outcome[0], UnknownImage)
    assert json.loads((store.root / "index.json").read_text())["refs"] == {}  # no dangling B
    _complete(store)


def test_a_reference_to_a_missing_record_can_be_removed(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    record = store.add_module(module, "local/a:v1", root_ids=["r"], abi_versions=["0.2.1"])
    index = store.root / "index.json"
    data = json.loads(index.read_text())
    data["refs"][store.key("local/b:v1")] = "sha256:" + "e" * 64  # what the tag/rm race left
    index.write_text(json.dumps(data))
    shown = wasmkit("inspect", "local/b:v1")
    assert shown.code == 2 and "hint:" in shown.err and "Traceback" not in shown.err
    removed = wasmkit("rm", "local/b:v1")
    assert removed.code == 0, removed.err
    assert store.key("local/b:v1") not in json.loads(index.read_text())["refs"]
    assert [r.ref for r in store.images()] == [record.ref]


def test_a_stored_image_whose_blob_was_deleted_by_hand(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    record = store.add_module(module, "local/a:v1", root_ids=["r"], abi_versions=["0.2.1"])
    store.blob_path(record.manifest_digest).unlink()
    shown = wasmkit("inspect", "local/a:v1")
    assert shown.code == 2 and "wasmkit rm" in shown.err and "Traceback" not in shown.err
    assert wasmkit("rm", "local/a:v1").code == 0
