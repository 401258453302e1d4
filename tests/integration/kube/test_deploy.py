"""wasmkit deploy / undeploy istio against a real kube-apiserver with Istio's CRDs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.kube.conftest import IMAGE
from tests.integration.oci.conftest import Result
from tests.integration.oci.servers import Registry
from tests.kube_server import KubeServer
from wasmkit.oci import LocalStore, push

pytestmark = [pytest.mark.kube]

EF = "/apis/networking.istio.io/v1alpha3/namespaces/{ns}/envoyfilters"
WP = "/apis/extensions.istio.io/v1alpha1/namespaces/{ns}/wasmplugins"
USER_VOLUME = "sidecar.istio.io/userVolume"
USER_VOLUME_MOUNT = "sidecar.istio.io/userVolumeMount"
THEIRS = {
    USER_VOLUME: '[{"name":"tmp-dir","emptyDir":{}}]',
    USER_VOLUME_MOUNT: '[{"mountPath":"/tmp","name":"tmp-dir"}]',
    "prometheus.io/scrape": "true",
}
PLURAL = {"Deployment": "deployments", "DaemonSet": "daemonsets", "StatefulSet": "statefulsets"}


def _names(kube: KubeServer, path: str, ns: str) -> set[str]:
    return {o["metadata"]["name"] for o in kube.get(path.format(ns=ns))["items"]}


def _workload(kube: KubeServer, kind: str, ns: str, name: str) -> dict[str, Any]:
    obj: dict[str, Any] = kube.get(f"/apis/apps/v1/namespaces/{ns}/{PLURAL[kind]}/{name}")
    return obj


def _pod_annotations(kube: KubeServer, kind: str, ns: str, name: str) -> dict[str, str]:
    obj = _workload(kube, kind, ns, name)
    annotations: dict[str, str] = obj["spec"]["template"]["metadata"].get("annotations", {})
    return annotations


def _web(cli: Callable[..., Result], *flags: str) -> Result:
    """``wasmkit deploy istio IMAGE --id f -l app=web FLAGS``."""
    return cli("deploy", "istio", IMAGE, "--id", "f", "-l", "app=web", *flags)


def _lines(result: Result) -> set[str]:
    assert result.code == 0, result.err
    return set(result.out.strip().splitlines())


@pytest.mark.parametrize("kind", ["Deployment", "DaemonSet", "StatefulSet"])
def test_deploy_update_idempotent_undeploy_restores(
    kind: str,
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
) -> None:
    ns = kube_namespace
    make(kind, "details-v1", {"app": "details", "version": "v1"}, annotations=THEIRS)
    make(kind, "details-v2", {"app": "details", "version": "v2"})
    make(kind, "reviews-v1", {"app": "reviews", "version": "v1"})
    flags = ["--id", "myfilter", "-l", "app=details", "--workload-kind", kind.lower()]
    first = _lines(deploy_cli("deploy", "istio", IMAGE, *flags, "--config", "tomorrow"))
    assert first == {
        f"created: envoyfilter/details-v1-myfilter -n {ns}",
        f"created: envoyfilter/details-v2-myfilter -n {ns}",
        f"changed: {kind.lower()}/details-v1 -n {ns}",
        f"changed: {kind.lower()}/details-v2 -n {ns}",
    }
    assert _names(kube_server, EF, ns) == {"details-v1-myfilter", "details-v2-myfilter"}
    ef = kube_server.get(EF.format(ns=ns) + "/details-v1-myfilter")
    assert ef["spec"]["workloadSelector"]["labels"] == {"app": "details", "version": "v1"}
    assert ef["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "wasmkit"
    assert {f["manager"] for f in ef["metadata"]["managedFields"]} == {"wasmkit"}
    volumes = json.loads(_pod_annotations(kube_server, kind, ns, "details-v1")[USER_VOLUME])
    assert volumes == [
        {"name": "tmp-dir", "emptyDir": {}},
        {"name": "cache-dir", "hostPath": {"path": "/var/local/lib/wasme-cache"}},
    ]
    assert _pod_annotations(kube_server, kind, ns, "reviews-v1") == {}

    second = _lines(deploy_cli("deploy", "istio", IMAGE, *flags, "--config", "yesterday"))
    assert second == {
        f"changed: envoyfilter/details-v1-myfilter -n {ns}",
        f"changed: envoyfilter/details-v2-myfilter -n {ns}",
    }
    value = kube_server.get(EF.format(ns=ns) + "/details-v2-myfilter")["spec"]["configPatches"][0]
    assert (
        value["patch"]["value"]["typed_config"]["config"]["configuration"]["value"] == "yesterday"
    )
    again = _lines(deploy_cli("deploy", "istio", IMAGE, *flags, "--config", "yesterday"))
    assert again == {
        f"unchanged: envoyfilter/details-v1-myfilter -n {ns}",
        f"unchanged: envoyfilter/details-v2-myfilter -n {ns}",
    }

    gone = _lines(deploy_cli("undeploy", "istio", "--id", "myfilter"))
    assert gone == {
        f"deleted: envoyfilter/details-v1-myfilter -n {ns}",
        f"deleted: envoyfilter/details-v2-myfilter -n {ns}",
        f"changed: {kind.lower()}/details-v1 -n {ns}",
        f"changed: {kind.lower()}/details-v2 -n {ns}",
    }
    assert _names(kube_server, EF, ns) == set()
    assert _pod_annotations(kube_server, kind, ns, "details-v1") == THEIRS
    assert _pod_annotations(kube_server, kind, ns, "details-v2") == {}
    meta = _workload(kube_server, kind, ns, "details-v1")["metadata"]
    assert not any(k.startswith("wasmkit.dev/") for k in meta.get("annotations", {}))
    assert _lines(deploy_cli("undeploy", "istio", "--id", "myfilter")) == {"nothing to remove"}


def test_a_shared_mount_stays_until_its_last_user_goes(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
) -> None:
    ns = kube_namespace
    make("Deployment", "web", {"app": "web"})
    for fid in ("one", "two"):
        assert (
            deploy_cli(
                "deploy", "istio", IMAGE, "--id", fid, "-l", "app=web", "--api", "envoyfilter"
            ).code
            == 0
        )
    mounted = _pod_annotations(kube_server, "Deployment", ns, "web")
    assert len(json.loads(mounted[USER_VOLUME])) == 1
    assert _lines(deploy_cli("undeploy", "istio", "--id", "one")) == {
        f"deleted: envoyfilter/web-one -n {ns}",
        f"changed: deployment/web -n {ns}",
    }
    assert _pod_annotations(kube_server, "Deployment", ns, "web") == mounted
    deploy_cli("undeploy", "istio", "--id", "two")
    assert _pod_annotations(kube_server, "Deployment", ns, "web") == {}


def test_http_source_needs_no_mount_and_wasmplugin_replaces_envoyfilters(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
) -> None:
    ns = kube_namespace
    make("Deployment", "web", {"app": "web"})
    assert _lines(_web(deploy_cli, "--api", "envoyfilter", "--source", "http")) == {
        f"created: envoyfilter/web-f -n {ns}"
    }
    assert _pod_annotations(kube_server, "Deployment", ns, "web") == {}
    result = _web(deploy_cli, "--config", '{"greeting": "tomorrow"}')
    assert _lines(result) == {
        f"created: wasmplugin/f -n {ns}",
        f"deleted: envoyfilter/web-f -n {ns}",
    }
    plugin = kube_server.get(WP.format(ns=ns) + "/f")["spec"]
    assert plugin["pluginConfig"] == {"greeting": "tomorrow"} and plugin["url"] == "oci://" + IMAGE
    assert _lines(deploy_cli("undeploy", "istio", "--id", "f")) == {
        f"deleted: wasmplugin/f -n {ns}"
    }


def test_dry_run_shows_per_workload_objects_and_changes_nothing(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
) -> None:
    make("Deployment", "web", {"app": "web"})
    result = _web(deploy_cli, "--config", "x", "--dry-run", "-o", "yaml")
    assert result.code == 0, result.err
    docs = list(yaml.safe_load_all(result.out))
    assert [d["kind"] for d in docs] == ["EnvoyFilter", "Deployment"]
    assert docs[0]["metadata"]["name"] == "web-f"
    assert _names(kube_server, EF, kube_namespace) == set()
    assert _pod_annotations(kube_server, "Deployment", kube_namespace, "web") == {}
    plain = deploy_cli(
        "deploy", "istio", IMAGE, "--id", "f", "-l", "app=web", "--config", "x", "--dry-run"
    )
    assert "created: envoyfilter/web-f" in plain.out and "(dry run)" in plain.out


@pytest.mark.registry
def test_an_image_not_in_the_store_is_pulled_and_pinned_by_its_digests(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
    store: LocalStore,
    registry: Registry,
) -> None:
    make("Deployment", "web", {"app": "web"})
    ref = registry.ref("filters/pulled:v1")
    store.tag(IMAGE, ref)
    pushed = push(store, ref, registry.options)
    store.remove(ref)
    result = deploy_cli(
        "deploy", "istio", ref, "--id", "f", "-l", "app=web", "--config", "a: 1", "--plain-http"
    )
    assert _lines(result) == {f"created: wasmplugin/f -n {kube_namespace}"}
    plugin = kube_server.get(WP.format(ns=kube_namespace) + "/f")["spec"]
    assert plugin["url"] == f"oci://{ref}"
    assert plugin["sha256"] == pushed.manifest_digest.removeprefix("sha256:")
    assert store.resolve(ref).module_sha256 == pushed.module_sha256


def test_output_dir_with_a_cluster_writes_objects_and_workload_patches(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
    tmp_path: Path,
) -> None:
    ns = kube_namespace
    make("Deployment", "web", {"app": "web"}, annotations=THEIRS)
    out = tmp_path / "gitops"
    args = ("--id", "f", "-l", "app=web", "--config", "x", "--output-dir", str(out))
    result = deploy_cli("deploy", "istio", IMAGE, *args)
    assert result.code == 0, result.err
    kustomization = yaml.safe_load((out / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["envoyfilter-web-f.yaml"]
    target = {"kind": "Deployment", "name": "web", "namespace": ns}
    assert kustomization["patches"] == [{"path": "deployment-web.yaml", "target": target}]
    patch = yaml.safe_load((out / "deployment-web.yaml").read_text())
    assert "resourceVersion" not in patch["metadata"]  # a file to commit: no read version
    volumes = json.loads(patch["spec"]["template"]["metadata"]["annotations"][USER_VOLUME])
    assert [v["name"] for v in volumes] == ["tmp-dir", "cache-dir"]
    ef = yaml.safe_load((out / "envoyfilter-web-f.yaml").read_text())
    assert ef["spec"]["workloadSelector"] == {"labels": {"app": "web"}}
    assert _names(kube_server, EF, ns) == set()  # files only: nothing applied
    assert _pod_annotations(kube_server, "Deployment", ns, "web") == THEIRS


def test_context_picks_the_cluster_user_and_default_namespace(
    wasmkit: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
    istiod: str,
    store: LocalStore,
    tmp_path: Path,
) -> None:
    make("Deployment", "web", {"app": "web"})
    config = yaml.safe_load(kube_server.kubeconfig.read_text())
    base = config["contexts"][0]["context"]
    config["contexts"] = [
        {"name": "elsewhere", "context": {**base, "namespace": "default"}},
        {"name": "here", "context": {**base, "namespace": kube_namespace}},
    ]
    config["current-context"] = "elsewhere"
    path = tmp_path / "two-contexts"
    path.write_text(yaml.safe_dump(config))
    args = ("--id", "f", "-l", "app=web", "--config", "x", "--kubeconfig", str(path))
    result = wasmkit("deploy", "istio", IMAGE, *args, "--context", "here")
    assert _lines(result) == {
        f"created: envoyfilter/web-f -n {kube_namespace}",
        f"changed: deployment/web -n {kube_namespace}",
    }
    other = wasmkit("deploy", "istio", IMAGE, *args)  # the current context: namespace default
    assert other.code == 2 and "namespace default" in other.err


def test_a_workload_that_no_longer_matches_loses_its_filter_and_mount(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
) -> None:
    ns = kube_namespace
    make("Deployment", "web-a", {"app": "web", "track": "a"})
    make("Deployment", "web-b", {"app": "web", "track": "b"}, annotations=THEIRS)
    assert _web(deploy_cli, "--config", "x").code == 0
    narrowed = deploy_cli(
        "deploy", "istio", IMAGE, "--id", "f", "-l", "track=a", "--config", "x"
    )  # fmt: skip
    assert _lines(narrowed) == {
        f"unchanged: envoyfilter/web-a-f -n {ns}",
        f"deleted: envoyfilter/web-b-f -n {ns}",
        f"changed: deployment/web-b -n {ns}",
    }
    assert _names(kube_server, EF, ns) == {"web-a-f"}
    assert _pod_annotations(kube_server, "Deployment", ns, "web-b") == THEIRS
