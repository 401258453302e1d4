"""Renderers x Istio forms x module sources, against golden files; the seed field for field."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES
from tests.unit.deploy.conftest import DETAILS, SEED_IMAGE, SEED_SHA
from wasmkit.abi import EnvoyFilterForm, find_platform
from wasmkit.deploy import (
    Api,
    DeploymentSpec,
    DeployRequest,
    ModuleSource,
    Phase,
    PullPolicy,
    WasmPluginOptions,
    parse_config,
    render_objects,
    resolve_spec,
)
from wasmkit.deploy.envoyfilter import filter_spec
from wasmkit.filter import FailurePolicy, envoy_wasm_filter

GOLDEN = Path(__file__).parent / "golden"
#: One Istio release per EnvoyFilter form, and the two WasmPlugin-era ones that differ.
FORMS = {
    "1.5": EnvoyFilterForm.V2_CONFIG,
    "1.7": EnvoyFilterForm.TYPED_V2_OR_V3,
    "1.9": EnvoyFilterForm.V3,
    "1.29": EnvoyFilterForm.V3_NEW_NAMES,
}
CASES = [
    *[("envoyfilter", v, s) for v in FORMS for s in (ModuleSource.CACHE, ModuleSource.HTTP)],
    ("wasmplugin", "1.12", ModuleSource.OCI),
    ("wasmplugin", "1.29", ModuleSource.HTTP),
]


def _request(api: str, source: ModuleSource, config: str = "tomorrow") -> DeployRequest:
    return DeployRequest(
        image=SEED_IMAGE.ref,
        id="myfilter",
        namespace="bookinfo",
        config=parse_config(config),
        labels={"app": "details"},
        api=Api(api),
        source=source,
    )


def test_the_platform_table_has_the_forms_the_golden_files_cover() -> None:
    for version, form in FORMS.items():
        assert find_platform("istio", version).envoy_filter is form


@pytest.mark.parametrize(("api", "version", "source"), CASES, ids=lambda v: str(v))
def test_golden(api: str, version: str, source: ModuleSource) -> None:
    config = "greeting: tomorrow" if api == "wasmplugin" else "tomorrow"
    spec = resolve_spec(_request(api, source, config), SEED_IMAGE, version)
    assert spec.api is Api(api) and spec.source is source
    workloads = [DETAILS] if api == "envoyfilter" else None
    rendered = yaml.safe_dump_all(render_objects(spec, workloads), sort_keys=False)
    path = GOLDEN / f"{api}-istio{version}-{source.value}.yaml"
    if os.environ.get("WASMKIT_UPDATE_GOLDEN"):
        path.write_text(rendered)
    assert rendered == path.read_text(), f"{path.name} differs (WASMKIT_UPDATE_GOLDEN=1 rewrites)"


def test_the_seeds_envoyfilter_field_for_field() -> None:
    seed = yaml.safe_load((FIXTURES / "deploy" / "seed-envoyfilter.yaml").read_text())
    spec = resolve_spec(_request("envoyfilter", ModuleSource.CACHE), SEED_IMAGE, "1.5")
    (ours,) = render_objects(spec, [DETAILS])
    assert ours["spec"] == seed["spec"]
    assert ours["apiVersion"] == seed["apiVersion"] and ours["kind"] == seed["kind"]
    assert {k: ours["metadata"][k] for k in ("name", "namespace")} == seed["metadata"]


@pytest.mark.parametrize("version", ["1.9", "1.29"])
def test_typed_forms_insert_exactly_the_filter_renderers_value(version: str) -> None:
    spec = resolve_spec(_request("envoyfilter", ModuleSource.CACHE), SEED_IMAGE, version)
    (ef,) = render_objects(spec, [DETAILS])
    inserted = ef["spec"]["configPatches"][-1]["patch"]["value"]
    assert inserted == envoy_wasm_filter(filter_spec(spec))
    config = inserted["typed_config"]["config"]
    assert config["vm_config"]["code"]["local"]["filename"].endswith(SEED_SHA)
    assert ("failure_policy" in config) is (version == "1.29")


def test_typed_struct_form_wraps_the_same_message() -> None:
    spec = resolve_spec(_request("envoyfilter", ModuleSource.CACHE), SEED_IMAGE, "1.8")
    (ef,) = render_objects(spec, [DETAILS])
    typed = ef["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]
    plain = envoy_wasm_filter(filter_spec(spec))["typed_config"]
    assert typed["type_url"] == plain["@type"]
    assert typed["value"] == {k: v for k, v in plain.items() if k != "@type"}


def test_http_source_fetches_from_the_cluster_it_defines() -> None:
    spec = resolve_spec(_request("envoyfilter", ModuleSource.HTTP), SEED_IMAGE, "1.29")
    (ef,) = render_objects(spec, [DETAILS])
    cluster, http_filter = ef["spec"]["configPatches"]
    assert cluster["applyTo"] == "CLUSTER" and cluster["patch"]["operation"] == "ADD"
    remote = http_filter["patch"]["value"]["typed_config"]["config"]["vm_config"]["code"]["remote"]
    assert remote["http_uri"]["cluster"] == cluster["patch"]["value"]["name"]
    assert remote["sha256"] == SEED_SHA and remote["http_uri"]["uri"].endswith("/" + SEED_SHA)


def test_wasmplugin_pins_the_manifest_digest_for_oci_and_the_module_for_http() -> None:
    oci = resolve_spec(_request("wasmplugin", ModuleSource.OCI, "a: 1"), SEED_IMAGE, "1.29")
    http = resolve_spec(_request("wasmplugin", ModuleSource.HTTP, "a: 1"), SEED_IMAGE, "1.29")
    (o,), (h,) = render_objects(oci, None), render_objects(http, None)
    assert o["spec"]["url"] == "oci://" + SEED_IMAGE.ref
    assert o["spec"]["sha256"] == SEED_IMAGE.manifest_digest.removeprefix("sha256:")
    assert h["spec"]["url"].startswith("http://") and h["spec"]["sha256"] == SEED_SHA
    assert o["spec"]["pluginConfig"] == {"a": 1} and o["spec"]["pluginName"] == "add_header"
    assert o["spec"]["selector"] == {"matchLabels": {"app": "details"}}


@pytest.mark.parametrize(
    ("policy", "v2", "v3", "new"),
    [
        (
            FailurePolicy.FAIL_OPEN,
            {"failOpen": True},
            {"fail_open": True},
            {"failure_policy": "FAIL_OPEN"},
        ),
        (FailurePolicy.FAIL_CLOSED, {}, {}, {"failure_policy": "FAIL_CLOSED"}),
    ],
)
def test_failure_policy_per_form(
    policy: FailurePolicy, v2: dict[str, Any], v3: dict[str, Any], new: dict[str, Any]
) -> None:
    def config(version: str) -> dict[str, Any]:
        request = DeployRequest(image="x", id="f", api=Api.ENVOYFILTER, failure_policy=policy)
        spec = resolve_spec(request, SEED_IMAGE, version)
        value = render_objects(spec, [DETAILS])[0]["spec"]["configPatches"][0]["patch"]["value"]
        found = value["config"]["config"] if "config" in value else value["typed_config"]["config"]
        assert isinstance(found, dict)
        return found

    keys = ("failOpen", "fail_open", "failure_policy")
    assert {k: v for k, v in config("1.5").items() if k in keys} == v2
    assert {k: v for k, v in config("1.12").items() if k in keys} == v3
    assert {k: v for k, v in config("1.29").items() if k in keys} == new


def test_offline_rendering_selects_the_labels_with_one_envoyfilter() -> None:
    spec = resolve_spec(_request("envoyfilter", ModuleSource.CACHE), SEED_IMAGE, "1.29")
    (ef,) = render_objects(spec, None)
    assert ef["metadata"]["name"] == "myfilter"
    assert ef["spec"]["workloadSelector"] == {"labels": {"app": "details"}}
    assert ef["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "wasmkit",
        "wasmkit.dev/filter-id": "myfilter",
    }


def full_plugin_spec() -> DeploymentSpec:
    """A WasmPlugin with every option the CLI offers set."""
    request = replace(
        _request("wasmplugin", ModuleSource.OCI, "greeting: tomorrow"),
        failure_policy=FailurePolicy.FAIL_OPEN,
        plugin=WasmPluginOptions(
            phase=Phase.AUTHZ,
            priority=10,
            image_pull_policy=PullPolicy.ALWAYS,
            image_pull_secret="registry-cred",
            match=({"mode": "SERVER", "ports": [{"number": 9080}]},),
        ),
    )
    return resolve_spec(request, SEED_IMAGE, "1.29")


def test_every_wasmplugin_option_is_rendered() -> None:
    (plugin,) = render_objects(full_plugin_spec(), None)
    spec = plugin["spec"]
    assert (spec["phase"], spec["priority"], spec["failStrategy"]) == ("AUTHZ", 10, "FAIL_OPEN")
    assert (spec["imagePullPolicy"], spec["imagePullSecret"]) == ("Always", "registry-cred")
    assert spec["match"] == [{"mode": "SERVER", "ports": [{"number": 9080}]}]
