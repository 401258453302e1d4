"""Every renderer x Istio form x source is accepted by the apiserver with Istio's CRDs (strict)."""

from __future__ import annotations

import pytest

from tests.kube_server import KubeServer, object_path
from tests.unit.deploy.conftest import DETAILS, SEED_IMAGE
from tests.unit.deploy.test_render import CASES, _request, full_plugin_spec
from wasmkit.deploy import ModuleSource, render_objects, resolve_spec

pytestmark = [pytest.mark.kube]


@pytest.mark.parametrize(("api", "version", "source"), CASES, ids=lambda v: str(v))
def test_accepted_with_strict_field_validation(
    api: str, version: str, source: ModuleSource, kube_server: KubeServer, kube_namespace: str
) -> None:
    config = "greeting: tomorrow" if api == "wasmplugin" else "tomorrow"
    spec = resolve_spec(_request(api, source, config), SEED_IMAGE, version)
    workloads = [DETAILS] if api == "envoyfilter" else None
    for obj in render_objects(spec, workloads):
        obj["metadata"]["namespace"] = kube_namespace
        path = object_path(obj).rsplit("/", 1)[0]
        created = kube_server.request(
            "POST", path, body=obj, params={"fieldValidation": "Strict", "dryRun": "All"}
        )
        assert created["spec"] == obj["spec"]  # nothing pruned, nothing unknown


def test_a_wasmplugin_with_every_option_is_accepted(
    kube_server: KubeServer, kube_namespace: str
) -> None:
    (obj,) = render_objects(full_plugin_spec(), None)
    obj["metadata"]["namespace"] = kube_namespace
    path = object_path(obj).rsplit("/", 1)[0]
    created = kube_server.request(
        "POST", path, body=obj, params={"fieldValidation": "Strict", "dryRun": "All"}
    )
    assert created["spec"] == obj["spec"]
