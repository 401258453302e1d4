"""WasmPlugin oci:// through Istio's own agent, from a real docker-registry on loopback."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.conftest import compile_wat
from tests.integration.istio.conftest import RunMesh
from tests.integration.istio.objects import wasm_plugin
from tests.integration.oci.servers import Registry
from wasmkit.mesh.engine import MeshApi
from wasmkit.oci import Digest, LocalStore, push
from wasmkit.oci.layout import OCI_CONFIG, OCI_LAYER_TAR_GZ, OCI_MANIFEST, Descriptor
from wasmkit.oci.registry import RegistryClient

pytestmark = pytest.mark.registry

SUITE = {
    "rootId": "add_header",
    "config": {"greeting": "hi"},
    "cases": [
        {"name": "JSON configuration", "expect": {"headers": {"hello": {"regex": "greeting"}}}},
        {"name": "local reply", "request": {"headers": {"x-deny": "1"}}, "expect": {"status": 403}},
    ],
}


def test_oci_image_pulled_by_the_agent_passes(
    run_mesh: RunMesh, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WASMKIT_HOME", str(tmp_path / "home"))
    module = compile_wat("add_header", tmp_path)
    ref = registry.ref("filters/add-header:v1")
    store = LocalStore(tmp_path / "home")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    pushed = push(store, ref, registry.options)

    def publish(_: Path) -> tuple[str, str | None]:
        return f"oci://{ref}", pushed.manifest_digest.removeprefix("sha256:")

    result = run_mesh(
        module, SUITE, wasm_plugin, api=MeshApi.WASM_PLUGIN, publish=publish, via_agent=True
    )
    failed = [(c.name, [str(m) for m in c.mismatches]) for c in result.cases if c.mismatches]
    assert result.load_error is None and not failed, (result.load_error, failed)
    assert "through Istio's agent" in result.runs[0].description


def _push_without_plugin_wasm(registry: Registry, module: Path, work: Path) -> str:
    """An image whose only layer is a tar.gz holding `filter.wasm`, not `plugin.wasm`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("filter.wasm")
        info.size = module.stat().st_size
        with module.open("rb") as f:
            tar.addfile(info, f)
    layer = gzip.compress(buffer.getvalue(), mtime=0)
    config = b"{}"
    client = RegistryClient(registry.host, plain_http=True)
    descriptors: list[Descriptor] = []
    for data, media in ((config, OCI_CONFIG), (layer, OCI_LAYER_TAR_GZ)):
        path = work / f"blob-{len(descriptors)}"
        path.write_bytes(data)
        descriptor = Descriptor(
            media, Digest("sha256:" + hashlib.sha256(data).hexdigest()), len(data)
        )
        client.upload_blob("filters/wrong", descriptor, path)
        descriptors.append(descriptor)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptors[0].to_json(),
        "layers": [descriptors[1].to_json()],
    }
    client.put_manifest("filters/wrong", "v1", json.dumps(manifest).encode(), OCI_MANIFEST)
    client.close()
    return registry.ref("filters/wrong:v1")


def test_an_image_the_agent_refuses_fails_with_its_reason(
    run_mesh: RunMesh, registry: Registry, tmp_path: Path
) -> None:
    module = compile_wat("add_header", tmp_path)
    ref = _push_without_plugin_wasm(registry, module, tmp_path)

    def publish(_: Path) -> tuple[str, str | None]:
        return f"oci://{ref}", None

    result = run_mesh(
        module, SUITE, wasm_plugin, api=MeshApi.WASM_PLUGIN, publish=publish, via_agent=True
    )
    assert result.load_error is not None
    assert result.load_error.startswith("Istio's agent could not fetch the module:")
    # Istio's own words, on one line.
    assert "plugin.wasm not found in the archive" in result.load_error
    assert "number of layers must be 2 but got 1" in result.load_error
