"""Push and pull against a real docker-registry over plain HTTP, through the library and the CLI."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.integration.oci.conftest import Result
from tests.integration.oci.servers import Registry, free_port
from wasmkit.oci import LocalStore, pull, push
from wasmkit.oci.layout import OCI_LAYER_TAR_GZ, WASME_CONFIG, WASME_LAYER

pytestmark = pytest.mark.registry


def test_push_rm_pull_gives_the_same_image_and_module(
    registry: Registry, store: LocalStore, module: Path
) -> None:
    ref = registry.ref("filters/add-header:v1")
    added = store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    result = push(store, ref, registry.options)
    assert result.manifest_digest == added.manifest_digest
    assert len(result.uploaded) == 2 and not result.skipped
    store.remove(ref)
    assert store.images() == []
    assert not any((store.root / "blobs" / "sha256").iterdir())
    record = pull(store, ref, registry.options)
    assert record.manifest_digest == added.manifest_digest
    assert record.module_sha256 == added.module_sha256
    assert record.root_ids == ("add_header",) and record.abi_versions == ("0.2.1",)
    assert store.module_path(ref).read_bytes() == module.read_bytes()
    # the registry serves what we pushed, byte for byte, under the same digest
    served = requests.get(
        f"http://{registry.host}/v2/filters/add-header/manifests/v1",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=5,
    )
    assert served.headers["Docker-Content-Digest"] == added.manifest_digest
    manifest = served.json()
    assert manifest["layers"][-1]["mediaType"] == OCI_LAYER_TAR_GZ
    assert manifest["annotations"]["module.wasm.image/variant"] == "compat"


def test_second_push_skips_existing_blobs_and_another_repository_mounts_them(
    registry: Registry, store: LocalStore, module: Path
) -> None:
    ref = registry.ref("filters/add-header:v1")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    push(store, ref, registry.options)
    again = push(store, ref, registry.options)
    assert len(again.skipped) == 2 and not again.uploaded
    other = registry.ref("elsewhere/copy:v1")
    store.tag(ref, other)
    mounted = push(store, other, registry.options)
    assert len(mounted.mounted) == 2 and not mounted.uploaded
    # the registry's own access log: two mount requests answered 201, no upload to the copy
    log = registry.log
    assert (
        len(re.findall(r'"POST /v2/elsewhere/copy/blobs/uploads/\?[^"]*mount=[^"]*" 201', log)) == 2
    )
    assert '"PUT /v2/elsewhere/copy/blobs/uploads/' not in log


def test_wasme_layout_round_trip(registry: Registry, store: LocalStore, module: Path) -> None:
    ref = registry.ref("filters/add-header:wasme")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    result = push(store, ref, registry.options, layout="wasme")
    manifest = requests.get(
        f"http://{registry.host}/v2/filters/add-header/manifests/wasme",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=5,
    ).json()
    assert manifest["config"]["mediaType"] == WASME_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [WASME_CONFIG, WASME_LAYER]
    assert manifest["layers"][0]["digest"] == manifest["config"]["digest"]
    assert manifest["annotations"]["module.wasm.runtime/abi_version"] == "0.2.1"
    store.remove(ref)
    record = pull(store, ref, registry.options)
    assert record.layout == "wasme"
    assert record.manifest_digest == result.manifest_digest
    assert record.root_ids == ("add_header",)
    assert store.module_path(ref).read_bytes() == module.read_bytes()


def test_cli_push_images_inspect_tag_rm_pull(
    registry: Registry, wasmkit: Callable[..., Result], module: Path
) -> None:
    ref = registry.ref("filters/add-header:v1")
    pushed = wasmkit(
        "push", ref, "--module", str(module), "--root-id", "add_header", "--plain-http"
    )
    assert pushed.code == 0, pushed.err
    assert pushed.out.strip().startswith(f"{ref}@sha256:")
    digest = pushed.out.strip().split("@")[1]
    listed = wasmkit("images", "--json")
    [image] = json.loads(listed.out)
    assert image["ref"] == ref and image["manifestDigest"] == digest
    assert image["rootIds"] == ["add_header"] and image["abiVersions"] == ["0.2.1"]
    table = wasmkit("images")
    assert "add_header" in table.out and digest[7:19] in table.out
    inspected = wasmkit("inspect", ref, "--check", "istio")
    assert inspected.code == 0, inspected.out
    assert "istio: accepted" in inspected.out
    assert digest[7:] in inspected.out and image["moduleSha256"] in inspected.out
    assert wasmkit("tag", ref, registry.ref("filters/add-header:v2")).code == 0
    assert wasmkit("rm", ref).code == 0
    assert [i["ref"] for i in json.loads(wasmkit("images", "--json").out)] == [
        registry.ref("filters/add-header:v2")
    ]
    assert wasmkit("rm", registry.ref("filters/add-header:v2")).code == 0
    pulled = wasmkit("pull", f"{registry.ref('filters/add-header')}@{digest}", "--plain-http")
    assert pulled.code == 0, pulled.err
    assert pulled.out.strip().endswith(digest)


def test_cli_errors_and_exit_codes(registry: Registry, wasmkit: Callable[..., Result]) -> None:
    bad = wasmkit("pull", "localhost:5000/Filters/X:v1", "--plain-http")
    assert bad.code == 2 and "lowercase" in bad.err and "hint:" in bad.err
    malformed = wasmkit("pull", "localhost:5000/filters/x:v1@sha256:nothex", "--plain-http")
    assert malformed.code == 2 and "not a digest" in malformed.err
    unknown = wasmkit("pull", registry.ref("filters/none:v9"), "--plain-http")
    assert unknown.code == 2 and "has no tag v9" in unknown.err
    down = wasmkit(
        "pull", f"127.0.0.1:{free_port()}/filters/x:v1", "--plain-http", "--timeout", "2"
    )
    assert down.code == 3 and "cannot reach the registry" in down.err
    missing = wasmkit("push", registry.ref("filters/never-stored:v1"), "--plain-http")
    assert missing.code == 2 and "wasmkit images" in missing.err
    no_tls = wasmkit("pull", registry.ref("filters/x:v1"))
    assert no_tls.code == 3 and "--plain-http" in no_tls.err


def test_store_files_are_never_partial(registry: Registry, store: LocalStore, module: Path) -> None:
    ref = registry.ref("filters/add-header:v1")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    push(store, ref, registry.options)
    store.remove(ref)
    pull(store, ref, registry.options)
    leftovers = [p for p in store.root.rglob("*") if p.suffix in (".tmp", ".partial")]
    assert leftovers == []
    assert os.listdir(store.root / "tmp") == []


class _Recorder:
    def __init__(self) -> None:
        self.tasks: dict[str, list[int]] = {}

    def task(self, label: str, total: int) -> _Recorder:
        self.tasks[label] = [total, 0]
        self._current = label
        return self

    def advance(self, n: int) -> None:
        self.tasks[self._current][1] += n

    def close(self) -> None:
        pass


def test_progress_is_reported_byte_for_byte(
    registry: Registry, store: LocalStore, tmp_path: Path
) -> None:
    from tests.integration.oci.fake_registry import wasm_of_size

    big = tmp_path / "big.wasm"
    big.write_bytes(wasm_of_size(3 * 1024 * 1024))
    ref = registry.ref("filters/big:v1")
    store.add_module(big, ref, root_ids=[], abi_versions=[])
    up = _Recorder()
    push(store, ref, registry.options, progress=up)
    store.remove(ref)
    down = _Recorder()
    pull(store, ref, registry.options, progress=down)
    for recorder in (up, down):
        assert len(recorder.tasks) == 2
        assert all(total == done for total, done in recorder.tasks.values()), recorder.tasks
        assert max(total for total, _ in recorder.tasks.values()) > 3 * 1024 * 1024


def test_a_pulled_tar_layer_is_unpacked_on_first_use_and_verified(
    registry: Registry, store: LocalStore, module: Path
) -> None:
    ref = registry.ref("filters/add-header:v1")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    push(store, ref, registry.options)
    store.remove(ref)
    record = pull(store, ref, registry.options)
    modules = store.root / "modules"
    assert list(modules.iterdir()) == []  # a pull writes each byte once
    assert store.module_path(ref).read_bytes() == module.read_bytes()
    assert [p.name for p in modules.iterdir()] == [f"{record.module_sha256}.wasm"]
    # a record that no longer matches its layer is refused, not served
    store.module_path(ref).unlink()
    record_file = store.root / "images" / f"{record.manifest_digest[7:]}.json"
    data = json.loads(record_file.read_text())
    data["module_sha256"] = "0" * 64
    record_file.write_text(json.dumps(data))
    from wasmkit.errors import ModuleError

    with pytest.raises(ModuleError, match="does not hold module"):
        store.module_path(ref)
    assert not (modules / ("0" * 64 + ".wasm")).exists()
