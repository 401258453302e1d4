"""The apiserver fixture itself: ready, Istio's CRDs served, RBAC enforced, strict validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml

from tests.kube_server import KubeServer

pytestmark = [pytest.mark.kube]


def _as_user(kubeconfig: Path, server: KubeServer, method: str, path: str) -> int:
    config = yaml.safe_load(kubeconfig.read_text())
    user = config["users"][0]["user"]
    directory = kubeconfig.parent
    cert, key = directory / (kubeconfig.name + ".crt"), directory / (kubeconfig.name + ".key")
    import base64

    cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
    key.write_bytes(base64.b64decode(user["client-key-data"]))
    response = requests.request(
        method,
        server.url + path,
        cert=(str(cert), str(key)),
        verify=str(server.pki["ca.crt"]),
        timeout=10,
    )
    return response.status_code


def test_istio_crds_are_served(kube_server: KubeServer) -> None:
    for group in ("networking.istio.io/v1alpha3", "extensions.istio.io/v1alpha1"):
        kinds = {r["kind"] for r in kube_server.get(f"/apis/{group}")["resources"]}
        assert {"EnvoyFilter"} <= kinds or {"WasmPlugin"} <= kinds, (group, kinds)


def test_namespaced_objects_round_trip(kube_server: KubeServer, kube_namespace: str) -> None:
    ef = {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": "probe", "namespace": kube_namespace},
        "spec": {"workloadSelector": {"labels": {"app": "probe"}}},
    }
    kube_server.apply(ef)
    got = kube_server.get(
        f"/apis/networking.istio.io/v1alpha3/namespaces/{kube_namespace}/envoyfilters/probe"
    )
    assert got["spec"]["workloadSelector"]["labels"] == {"app": "probe"}


def test_least_privilege_user_is_forbidden_elsewhere(
    kube_server: KubeServer, kube_namespace: str
) -> None:
    kubeconfig = kube_server.kubeconfig_for(
        "reader",
        [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}],
        namespace=kube_namespace,
    )
    assert (
        yaml.safe_load(kubeconfig.read_text())["contexts"][0]["context"]["namespace"]
        == kube_namespace
    )
    allowed = f"/apis/apps/v1/namespaces/{kube_namespace}/deployments"
    assert _as_user(kubeconfig, kube_server, "GET", allowed) == 200
    assert (
        _as_user(
            kubeconfig,
            kube_server,
            "GET",
            f"/apis/networking.istio.io/v1alpha3/namespaces/{kube_namespace}/envoyfilters",
        )
        == 403
    )
    assert (
        _as_user(kubeconfig, kube_server, "GET", "/apis/apps/v1/namespaces/default/deployments")
        == 403
    )


def test_unknown_fields_are_refused_with_strict_validation(
    kube_server: KubeServer, kube_namespace: str
) -> None:
    bad = {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": "bad", "namespace": kube_namespace},
        "spec": {"workloadSelectorr": {}},
    }
    with pytest.raises(RuntimeError, match="workloadSelectorr"):
        kube_server.request(
            "POST",
            f"/apis/networking.istio.io/v1alpha3/namespaces/{kube_namespace}/envoyfilters",
            body=bad,
            params={"fieldValidation": "Strict"},
        )
