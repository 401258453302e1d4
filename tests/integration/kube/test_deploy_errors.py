"""wasmkit deploy istio's errors against a real kube-apiserver: each with its exit code and hint."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.integration.kube.conftest import IMAGE
from tests.integration.oci.conftest import Result
from tests.kube_server import CRDS, KubeServer

pytestmark = [pytest.mark.kube]


def test_no_matching_workload_names_the_labels_and_what_exists(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
) -> None:
    make("Deployment", "reviews-v1", {"app": "reviews"})
    result = deploy_cli("deploy", "istio", IMAGE, "--id", "f", "-l", "app=details")
    assert result.code == 2
    assert "app=details" in result.err and "reviews-v1 (app=reviews)" in result.err
    kinds = deploy_cli("deploy", "istio", IMAGE, "--id", "f", "--workload-kind", "daemonset")
    assert kinds.code == 2 and "no daemonset" in kinds.err


def test_input_errors_exit_2_with_hints(
    deploy_cli: Callable[..., Result], make: Callable[..., Any]
) -> None:
    make("Deployment", "web", {"app": "web"})
    bad_id = deploy_cli("deploy", "istio", IMAGE, "--id", "My_Filter")
    assert (
        bad_id.code == 2 and "not a valid Kubernetes name" in bad_id.err and "hint:" in bad_id.err
    )
    kind = deploy_cli("deploy", "istio", IMAGE, "--id", "f", "--workload-kind", "replicaset")
    assert kind.code == 2 and "replicaset" in kind.err
    abi = deploy_cli("deploy", "istio", IMAGE, "--id", "f", "--istio-version", "1.5")
    assert abi.code == 2 and "--ignore-version-check" in abi.err
    forced = deploy_cli(
        "deploy", "istio", IMAGE, "--id", "f", "--istio-version", "1.5",
        "--ignore-version-check", "--dry-run", "-o", "json"
    )  # fmt: skip
    assert forced.code == 0, forced.err
    assert (
        json.loads(forced.out)["items"][0]["spec"]["configPatches"][0]["match"]["listener"][
            "filterChain"
        ]["filter"]["name"]
        == "envoy.http_connection_manager"
    )


def test_an_image_without_root_ids_needs_root_id(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    store: Any,
    tmp_path: Any,
) -> None:
    from tests.conftest import compile_wat

    make("Deployment", "web", {"app": "web"})
    store.add_module(
        compile_wat("add_header", tmp_path),
        "registry.example/f/noroot:v1",
        root_ids=[],
        abi_versions=["0.2.1"],
    )
    result = deploy_cli("deploy", "istio", "registry.example/f/noroot:v1", "--id", "f")
    assert result.code == 2 and "--root-id" in result.err
    ok = deploy_cli(
        "deploy", "istio", "registry.example/f/noroot:v1", "--id", "f", "--root-id",
        "add_header", "--api", "envoyfilter"
    )  # fmt: skip
    assert ok.code == 0, ok.err


def test_rbac_forbidden_names_verb_resource_and_namespace(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
) -> None:
    make("Deployment", "web", {"app": "web"})
    reader = kube_server.kubeconfig_for(
        "reader",
        [
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
            {
                "apiGroups": ["networking.istio.io", "extensions.istio.io"],
                "resources": ["envoyfilters", "wasmplugins"],
                "verbs": ["get", "list"],
            },
        ],
        namespace=kube_namespace,
    )
    result = deploy_cli(
        "deploy", "istio", IMAGE, "--id", "f", "--istio-version", "1.29", "--api",
        "envoyfilter", kubeconfig=reader
    )  # fmt: skip
    assert result.code == 3
    # the first write is the mount (it goes on before the filter that reads through it)
    assert f"patch deployments in namespace {kube_namespace}" in result.err
    assert "kubectl auth can-i patch deployments" in result.err


def test_no_cluster_is_exit_3_but_dry_run_renders_without_one(
    wasmkit: Callable[..., Result],
    store: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.kube_pki import write_kubeconfig
    from tests.kube_server import free_port

    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    dead = tmp_path / "dead.kubeconfig"
    ca = tmp_path / "ca.crt"
    ca.write_text("")
    write_kubeconfig(dead, f"https://127.0.0.1:{free_port()}", ca, ca, ca)
    down = wasmkit("deploy", "istio", IMAGE, "--id", "f", "--kubeconfig", str(dead))
    assert down.code == 3 and "hint:" in down.err
    none = wasmkit("deploy", "istio", IMAGE, "--id", "f")
    assert none.code == 3 and "no Kubernetes cluster configured" in none.err
    offline = wasmkit(
        "deploy", "istio", IMAGE, "--id", "f", "-l", "app=web", "--config", "x",
        "--istio-version", "1.29", "--dry-run", "-o", "yaml"
    )  # fmt: skip
    assert offline.code == 0, offline.err
    (ef,) = yaml.safe_load_all(offline.out)
    assert ef["metadata"]["name"] == "f" and ef["spec"]["workloadSelector"] == {
        "labels": {"app": "web"}
    }
    assert "without a cluster" in offline.err
    assert """sidecar.istio.io/userVolume: '[{"name":"cache-dir",""" in offline.err
    out = tmp_path / "gitops"
    files = wasmkit(
        "deploy", "istio", IMAGE, "--id", "f", "--config", "a: 1", "--istio-version", "1.29",
        "--output-dir", str(out)
    )  # fmt: skip
    assert files.code == 0, files.err
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["wasmplugin-f.yaml"]
    assert yaml.safe_load((out / "wasmplugin-f.yaml").read_text())["spec"]["pluginConfig"] == {
        "a": 1
    }


def test_missing_istio_crds_is_exit_3(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
) -> None:
    from tests.kube_server import istio_crds

    make("Deployment", "web", {"app": "web"})
    crd = CRDS + "/envoyfilters.networking.istio.io"
    kube_server.request("DELETE", crd)
    try:
        kube_server.wait_gone("/apis/networking.istio.io/v1alpha3/envoyfilters")
        result = deploy_cli("deploy", "istio", IMAGE, "--id", "f", "--api", "envoyfilter")
        assert result.code == 3 and "envoyfilters.networking.istio.io" in result.err
    finally:
        kube_server.install_crds(istio_crds())
