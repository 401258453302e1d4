"""The mesh's objects are deploy's: rendered per variant, with the module where the sidecar finds it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from wasmkit.errors import UsageError
from wasmkit.filter import FailurePolicy, FilterSpec, LocalCode
from wasmkit.mesh.deployed import DeployedObjects, MeshSource, check_source
from wasmkit.mesh.engine import MeshApi, MeshTarget
from wasmkit.mesh.workload import Workload

MODULE = b"\0asm\1\0\0\0"


def _target(api: MeshApi, configuration: str = "world") -> MeshTarget:
    spec = FilterSpec(
        "f", "add_header", LocalCode("/ignored.wasm"), configuration, FailurePolicy.FAIL_OPEN
    )
    return MeshTarget(Workload("variant-0", 9080, 8080), spec, api)


def test_envoy_filter_points_at_deploys_node_cache_path(tmp_path: Path) -> None:
    module = tmp_path / "f.wasm"
    module.write_bytes(MODULE)
    sha = hashlib.sha256(MODULE).hexdigest()
    [ef] = DeployedObjects("1.29", module, MeshSource.CACHE)(_target(MeshApi.ENVOY_FILTER))
    assert ef["kind"] == "EnvoyFilter"
    assert ef["metadata"]["namespace"] == "wasmkit-test"
    assert ef["spec"]["workloadSelector"] == {"labels": {"app": "variant-0"}}
    [patch] = ef["spec"]["configPatches"]
    config = patch["patch"]["value"]["typed_config"]["config"]
    assert config["vm_config"]["code"] == {
        "local": {"filename": f"/var/local/lib/wasme-cache/{sha}"}
    }
    assert config["configuration"]["value"] == "world"
    assert config["failure_policy"] == "FAIL_OPEN"
    assert patch["match"]["listener"]["filterChain"]["filter"]["name"] == (
        "envoy.filters.network.http_connection_manager"
    )


def test_istio_1_5_form_uses_the_old_names(tmp_path: Path) -> None:
    module = tmp_path / "f.wasm"
    module.write_bytes(MODULE)
    [ef] = DeployedObjects("1.5", module, MeshSource.CACHE)(_target(MeshApi.ENVOY_FILTER))
    match = ef["spec"]["configPatches"][0]["match"]["listener"]["filterChain"]["filter"]
    assert match == {"name": "envoy.http_connection_manager", "subFilter": {"name": "envoy.router"}}


def test_wasm_plugin_file_url_and_json_config(tmp_path: Path) -> None:
    module = tmp_path / "f.wasm"
    module.write_bytes(MODULE)
    target = _target(MeshApi.WASM_PLUGIN, '{"greeting":"hi"}')
    [wp] = DeployedObjects("1.29", module, MeshSource.FILE)(target)
    assert wp["kind"] == "WasmPlugin"
    assert wp["spec"]["url"] == module.resolve().as_uri()
    assert wp["spec"]["sha256"] == hashlib.sha256(MODULE).hexdigest()
    assert wp["spec"]["pluginConfig"] == {"greeting": "hi"}
    assert wp["spec"]["pluginName"] == "add_header"
    assert wp["spec"]["selector"] == {"matchLabels": {"app": "variant-0"}}


def test_wasm_plugin_oci_pins_the_manifest_digest(tmp_path: Path) -> None:
    module = tmp_path / "f.wasm"
    module.write_bytes(MODULE)
    objects = DeployedObjects(
        "1.29", module, MeshSource.OCI, "127.0.0.1:5000/f:v1", "sha256:" + "a" * 64
    )
    [wp] = objects(_target(MeshApi.WASM_PLUGIN, '{"a":1}'))
    assert (wp["spec"]["url"], wp["spec"]["sha256"]) == ("oci://127.0.0.1:5000/f:v1", "a" * 64)


@pytest.mark.parametrize(
    ("api", "source", "image", "said"),
    [
        (MeshApi.ENVOY_FILTER, MeshSource.OCI, None, "does not go with --api envoyfilter"),
        (MeshApi.WASM_PLUGIN, MeshSource.CACHE, None, "does not go with --api wasmplugin"),
        (MeshApi.WASM_PLUGIN, MeshSource.OCI, None, "--image REF"),
    ],
)
def test_impossible_combinations_are_refused(
    api: MeshApi, source: MeshSource, image: str | None, said: str
) -> None:
    with pytest.raises(UsageError, match=said):
        check_source(api, source, image)
