"""The FilterDeployment models, their defaults, and the CRD generated from them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from tests.conftest import FIXTURES
from wasmkit.operator.crd import crd
from wasmkit.operator.install import InstallOptions, manifests
from wasmkit.operator.spec import ID_PATTERN, MAX_ID, FilterDeploymentSpec, default_id

SEED = yaml.safe_load((FIXTURES / "operator" / "seed-filterdeployment.yaml").read_text())


def test_the_seed_validates_with_wasmes_defaults() -> None:
    spec = FilterDeploymentSpec.model_validate(SEED["spec"])
    assert spec.filter.config == "world"
    assert spec.deployment.istio.labels == {"app": "details"}
    assert spec.deployment.istio.delivery == "cache"
    assert spec.deployment.istio.istio_namespace == "istio-system"
    assert spec.filter.patch_context == "inbound"
    assert spec.filter_id("bookinfo-custom-filter", "bookinfo") == "bookinfo-custom-filter-bookinfo"


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        ({"deployment": {"istio": {"kind": "Pod"}}, "filter": {"image": "a/b:c"}}, "kind"),
        ({"deployment": {"istio": {}}, "filter": {}}, "image"),
        ({"deployment": {"istio": {}}, "filter": {"image": "a b"}}, "image"),
        ({"deployment": {"istio": {}}, "filter": {"image": "a/b", "id": "Bad_ID"}}, "id"),
        ({"deployment": {"istio": {"delivery": "ftp"}}, "filter": {"image": "a/b"}}, "delivery"),
        ({"deployment": {"istio": {}}, "filter": {"image": "a/b", "colour": 1}}, "colour"),
    ],
)
def test_bad_specs_are_refused_by_the_model(spec: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as info:
        FilterDeploymentSpec.model_validate(spec)
    assert where in str(info.value)


@pytest.mark.parametrize(
    ("name", "namespace"),
    [("a", "b"), ("x" * 63, "y" * 63), ("filter.v2", "default"), ("a" * 200, "ns")],
)
def test_default_ids_are_valid_and_distinct(name: str, namespace: str) -> None:
    made = default_id(name, namespace)
    assert len(made) <= MAX_ID
    assert re.fullmatch(ID_PATTERN, made)
    assert made != default_id(name + "z", namespace)


def _walk(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        return [node, *[n for v in node.values() for n in _walk(v)]]
    if isinstance(node, list):
        return [n for v in node for n in _walk(v)]
    return []


def test_the_crd_schema_is_structural() -> None:
    """What apiextensions/v1 refuses: $ref, anyOf with types, additionalProperties: false,
    null defaults, and nodes without a type."""
    version = crd()["spec"]["versions"][0]
    schema = version["schema"]["openAPIV3Schema"]
    for node in _walk(schema["properties"]["spec"]) + _walk(schema["properties"]["status"]):
        if "properties" in node or "items" in node or "enum" in node or "pattern" in node:
            assert "type" in node, node
        assert "$ref" not in node and "anyOf" not in node and "title" not in node
        assert node.get("additionalProperties") is not False
        assert "default" not in node or node["default"] is not None
    assert version["subresources"] == {"status": {}}
    spec = schema["properties"]["spec"]
    assert spec["required"] == ["deployment", "filter"]
    istio = spec["properties"]["deployment"]["properties"]["istio"]["properties"]
    assert istio["kind"]["enum"] == ["Deployment", "DaemonSet", "StatefulSet"]
    assert {c["name"] for c in version["additionalPrinterColumns"]} >= {"Image", "Ready", "Age"}


def test_install_rbac_names_every_verb_and_resource() -> None:
    objects = manifests(InstallOptions(namespace="ops", cache_image="reg/cache:1"))
    kinds = [o["kind"] for o in objects]
    assert kinds[0] == "CustomResourceDefinition"
    assert {"Deployment", "DaemonSet", "Service", "ClusterRole", "Role"} <= set(kinds)
    for role in (o for o in objects if o["kind"] in ("ClusterRole", "Role")):
        for rule in role["rules"]:
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule[key], (role["metadata"]["name"], rule)
    cache_role = next(
        o
        for o in objects
        if o["kind"] == "ClusterRole" and o["metadata"]["name"] == "wasmkit-cache"
    )
    # the cache never writes Istio objects or workloads
    assert {r for rule in cache_role["rules"] for r in rule["resources"]} == {
        "filterdeployments",
        "secrets",
    }
    daemonset = next(o for o in objects if o["kind"] == "DaemonSet")
    assert daemonset["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/cache:1"
    assert all(o["metadata"].get("namespace", "ops") == "ops" for o in objects)
    json.dumps(objects)  # plain data, ready for the API


def test_operator_install_dry_run_prints_every_object(capsys: pytest.CaptureFixture[str]) -> None:
    from wasmkit.cli._app import run_cli
    from wasmkit.cli.main import cli

    code = run_cli(cli, ["operator", "install", "--dry-run", "-o", "yaml", "--namespace", "ops"])
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert code == 0
    assert [d["kind"] for d in documents] == [o["kind"] for o in manifests(InstallOptions("ops"))]
    code = run_cli(cli, ["operator", "install", "--dry-run", "-o", "json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "List"
    code = run_cli(
        cli,
        ["operator", "install", "--dry-run", "-o", "json", "--operator-image", "reg.local/op:2"],
    )
    assert code == 0
    [operator] = [
        o for o in json.loads(capsys.readouterr().out)["items"] if o["kind"] == "Deployment"
    ]
    assert [c["image"] for c in operator["spec"]["template"]["spec"]["containers"]] == [
        "reg.local/op:2"
    ]
