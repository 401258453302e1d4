"""The FilterDeployment operator on a real kube-apiserver, with node caches pulling from a real
docker-registry. Each test has its own namespace; the operator and caches are shared."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.cli import wasmkit
from tests.conftest import FIXTURES, compile_wat
from tests.integration.oci.servers import Registry
from tests.integration.operator.world import World
from wasmkit.deploy.mounts import USER_VOLUME, USER_VOLUME_MOUNT
from wasmkit.envoy.binary import find_envoy
from wasmkit.envoy.bootstrap import Listener, render_bootstrap
from wasmkit.envoy.process import EnvoyProcess
from wasmkit.envoy.upstream import EchoUpstream
from wasmkit.oci import LocalStore, PushResult, login, push

pytestmark = [pytest.mark.registry, pytest.mark.slow, pytest.mark.envoy]


def _spec(image: str, labels: dict[str, str], **istio: Any) -> dict[str, Any]:
    return {
        "deployment": {"istio": {"kind": "Deployment", "labels": labels, **istio}},
        "filter": {"config": "world", "image": image, "imagePullOptions": {"plainHttp": True}},
    }


def _annotations(world: World, ns: str, name: str) -> dict[str, str]:
    template = world.get_workload(ns, name)["spec"]["template"]["metadata"]
    return dict(template.get("annotations") or {})


def test_seed_resource_deploys_the_filter_and_reports_succeeded(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    pushed = publish("ceposta/demo-add-header:v0.2")
    ns = world.namespace_for_test()
    world.workload(ns, "details", {"app": "details"}, ["node-a", "node-b"])
    world.workload(ns, "reviews", {"app": "reviews"}, ["node-a"])
    world.filter_deployment(
        ns,
        "bookinfo-custom-filter",
        _spec(registry.ref("ceposta/demo-add-header:v0.2"), {"app": "details"}),
    )
    fd = world.eventually(lambda: world.ready(ns, "bookinfo-custom-filter"), "Ready", 60)
    status = fd["status"]
    assert status["digest"] == pushed.manifest_digest
    assert status["moduleSha256"] == pushed.module_sha256
    assert status["rootID"] == "add_header"
    assert status["workloads"] == [
        {"kind": "Deployment", "name": "details", "state": "Succeeded", "reason": ""}
    ]
    assert [(n["name"], n["ready"]) for n in status["nodes"]] == [
        ("node-a", True),
        ("node-b", True),
    ]
    assert status["observedGeneration"] == fd["metadata"]["generation"]
    # one EnvoyFilter, for the selected workload only, owned by the resource
    [ef] = world.envoyfilters(ns)
    assert ef["metadata"]["name"] == "details-bookinfo-custom-filter-" + ns
    assert ef["metadata"]["ownerReferences"][0]["uid"] == fd["metadata"]["uid"]
    assert ef["spec"]["workloadSelector"]["labels"]["app"] == "details"
    patch = ef["spec"]["configPatches"][-1]["patch"]["value"]
    wasm = patch["typed_config"]["config"]
    assert wasm["vm_config"]["code"]["local"]["filename"].endswith("/" + pushed.module_sha256)
    # the module is on both nodes, under the name the EnvoyFilter uses
    for node in ("node-a", "node-b"):
        assert (world.cache_dirs[node] / "modules" / pushed.module_sha256).is_file()
    # the selected workload got the cache mount; the other one was not touched
    details = _annotations(world, ns, "details")
    assert json.loads(details[USER_VOLUME])[0]["hostPath"]["path"] == "/var/local/lib/wasme-cache"
    assert USER_VOLUME_MOUNT in details
    assert USER_VOLUME not in _annotations(world, ns, "reviews")
    # what the operator wrote loads in a real Envoy, reading node-a's file, and adds the header
    local = world.cache_dirs["node-a"] / "modules" / pushed.module_sha256
    wasm["vm_config"]["code"]["local"]["filename"] = str(local)
    assert _envoy_response_headers(patch, world.directory)["hello"] == "world"


def _envoy_response_headers(http_filter: dict[str, Any], directory: Path) -> dict[str, str]:
    run_dir = directory / f"envoy-{uuid.uuid4().hex[:6]}"
    run_dir.mkdir()
    with EchoUpstream() as upstream:
        config = run_dir / "envoy.yaml"
        config.write_text(
            render_bootstrap(
                [Listener("operator", http_filter)],
                upstream_port=upstream.port,
                access_log=str(run_dir / "access.log"),
            )
        )
        with EnvoyProcess(find_envoy(), config, run_dir) as envoy:
            port = envoy.listener_ports()["operator"]
            response = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
            assert response.status_code == 200, envoy.log_text()
            return dict(response.headers)


def test_bad_image_fails_with_the_reason_and_patches_nothing(
    world: World, registry: Registry
) -> None:
    ns = world.namespace_for_test()
    world.workload(ns, "details", {"app": "details"}, ["node-a"])
    world.filter_deployment(
        ns, "missing", _spec(registry.ref("nothing/here:v1"), {"app": "details"})
    )

    def failed() -> dict[str, Any] | None:
        conditions = world.fd(ns, "missing").get("status", {}).get("conditions", [])
        ready = next((c for c in conditions if c["type"] == "Ready"), None)
        return ready if ready and ready["reason"] == "Failed" else None

    ready = world.eventually(failed, "Failed")
    assert "nothing/here" in ready["message"]
    assert world.envoyfilters(ns) == []
    assert _annotations(world, ns, "details") == {}


def test_bad_specs_are_rejected_by_the_api_schema(world: World) -> None:
    ns = world.namespace_for_test()
    bad = [
        {"deployment": {"istio": {"kind": "Pod"}}, "filter": {"image": "a/b:c"}},
        {"deployment": {"istio": {}}, "filter": {}},
        {"deployment": {"istio": {}}, "filter": {"image": "a/b", "id": "Not_A_Name"}},
        {"deployment": {"istio": {"delivery": "ftp"}}, "filter": {"image": "a/b"}},
        {"deployment": {"istio": {}}, "filter": {"image": "a/b", "colour": "blue"}},
        {"filter": {"image": "a/b"}},
    ]
    for i, spec in enumerate(bad):
        obj = {
            "apiVersion": "wasme.io/v1",
            "kind": "FilterDeployment",
            "metadata": {"name": f"bad-{i}", "namespace": ns},
            "spec": spec,
        }
        with pytest.raises(RuntimeError, match=r"422|400"):
            world.kube.request(
                "POST",
                f"/apis/wasme.io/v1/namespaces/{ns}/filterdeployments",
                body=obj,
                params={"fieldValidation": "Strict"},
            )
    # the seed document itself is accepted as it is
    seed = yaml.safe_load((FIXTURES / "operator" / "seed-filterdeployment.yaml").read_text())
    seed["metadata"]["namespace"] = ns
    created = world.kube.request(
        "POST",
        f"/apis/wasme.io/v1/namespaces/{ns}/filterdeployments",
        body=seed,
        params={"fieldValidation": "Strict"},
    )
    assert created["spec"]["deployment"]["istio"]["delivery"] == "cache"  # defaulted by the API
    world.kube.delete(seed)


def test_cache_slow_keeps_the_workload_pending_and_unpatched_until_its_node_holds_it(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    pushed = publish("slow/filter:v1")
    ns = world.namespace_for_test()
    world.workload(ns, "late", {"app": "late"}, ["node-a", "node-slow"])
    world.kube.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-slow"}})
    world.filter_deployment(ns, "slow", _spec(registry.ref("slow/filter:v1"), {"app": "late"}))

    def pending_on_slow() -> dict[str, Any] | None:
        workloads = world.fd(ns, "slow").get("status", {}).get("workloads", [])
        return workloads[0] if workloads and "node-slow" in workloads[0]["reason"] else None

    workload = world.eventually(pending_on_slow, "Pending, waiting for node-slow")
    assert workload["state"] == "Pending"
    # node-a holds it already; the workload is still not patched, no EnvoyFilter exists
    world.eventually(
        lambda: (world.cache_dirs["node-a"] / "modules" / pushed.module_sha256).is_file(),
        "node-a holds the module",
    )
    assert world.envoyfilters(ns) == []
    assert _annotations(world, ns, "late") == {}
    try:
        modules = world.start_cache("node-slow")
        world.eventually(lambda: world.ready(ns, "slow"), "Ready once node-slow holds it", 60)
        assert (modules / pushed.module_sha256).is_file()
        assert len(world.envoyfilters(ns)) == 1
        assert USER_VOLUME in _annotations(world, ns, "late")
    finally:
        world.stop_cache("node-slow")


def test_drift_is_repaired_and_deletion_restores_everything(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    publish("drift/filter:v1")
    ns = world.namespace_for_test()
    mine = json.dumps([{"name": "mine", "emptyDir": {}}])
    world.workload(ns, "details", {"app": "details"}, ["node-a"], annotations={USER_VOLUME: mine})
    world.filter_deployment(ns, "drift", _spec(registry.ref("drift/filter:v1"), {"app": "details"}))
    world.eventually(lambda: world.ready(ns, "drift"), "Ready", 60)
    [ef] = world.envoyfilters(ns)

    # a deleted EnvoyFilter comes back
    world.kube.delete(ef)
    world.eventually(
        lambda: [
            e for e in world.envoyfilters(ns) if e["metadata"]["uid"] != ef["metadata"]["uid"]
        ],
        "the EnvoyFilter restored",
    )

    # an edited EnvoyFilter is put back
    [ef] = world.envoyfilters(ns)
    edited = {
        "apiVersion": ef["apiVersion"],
        "kind": "EnvoyFilter",
        "metadata": {"name": ef["metadata"]["name"], "namespace": ns},
        "spec": {"workloadSelector": {"labels": {"app": "hijacked"}}},
    }
    world.kube.apply(edited)

    def selector() -> dict[str, str]:
        [e] = world.envoyfilters(ns)
        return dict(e["spec"]["workloadSelector"]["labels"])

    world.eventually(lambda: selector().get("app") == "details", "the edit reverted")

    # a new matching workload is picked up; one relabelled away is cleaned
    world.workload(ns, "details-v2", {"app": "details"}, ["node-b"])
    world.eventually(lambda: len(world.envoyfilters(ns)) == 2, "the new workload's EnvoyFilter")
    world.workload(ns, "details-v2", {"app": "other"}, ["node-b"])
    world.eventually(lambda: len(world.envoyfilters(ns)) == 1, "the relabelled workload cleaned")
    world.eventually(
        lambda: USER_VOLUME not in _annotations(world, ns, "details-v2"), "its mount removed"
    )

    # a config change is rolled out
    spec = _spec(registry.ref("drift/filter:v1"), {"app": "details"})
    spec["filter"]["config"] = "tomorrow"
    world.filter_deployment(ns, "drift", spec)

    def configured() -> bool:
        [e] = world.envoyfilters(ns)
        value = e["spec"]["configPatches"][-1]["patch"]["value"]["typed_config"]["config"]
        return bool(value["configuration"]["value"] == "tomorrow")

    world.eventually(configured, "the new configuration")

    # deletion removes the EnvoyFilter and restores the workload's own annotation exactly
    world.kube.delete(
        {
            "apiVersion": "wasme.io/v1",
            "kind": "FilterDeployment",
            "metadata": {"name": "drift", "namespace": ns},
        }
    )
    world.eventually(lambda: world.gone(ns, "drift"), "the resource gone")
    assert world.envoyfilters(ns) == []
    assert _annotations(world, ns, "details") == {USER_VOLUME: mine}


def test_a_repushed_tag_rolls_out_the_new_digest(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    first = publish("moving/filter:latest")
    ns = world.namespace_for_test()
    world.workload(ns, "details", {"app": "details"}, ["node-a"])
    world.filter_deployment(
        ns, "moving", _spec(registry.ref("moving/filter:latest"), {"app": "details"})
    )
    world.eventually(lambda: world.ready(ns, "moving", first.manifest_digest), "Ready on v1", 60)
    second = publish("moving/filter:latest", wat="bodies", root_id="add_header")
    assert second.manifest_digest != first.manifest_digest
    fd = world.eventually(
        lambda: world.ready(ns, "moving", second.manifest_digest), "Ready on the re-push", 60
    )
    assert fd["status"]["appliedImage"].endswith(second.manifest_digest)
    [ef] = world.envoyfilters(ns)
    code = ef["spec"]["configPatches"][-1]["patch"]["value"]["typed_config"]["config"]["vm_config"][
        "code"
    ]
    assert code["local"]["filename"].endswith(second.module_sha256)


def test_two_filters_on_one_workload_share_one_mount(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    publish("two/one:v1")
    publish("two/two:v1", wat="bodies", root_id="add_header")
    ns = world.namespace_for_test()
    world.workload(ns, "details", {"app": "details"}, ["node-a"])
    world.filter_deployment(ns, "one", _spec(registry.ref("two/one:v1"), {"app": "details"}))
    world.filter_deployment(ns, "two", _spec(registry.ref("two/two:v1"), {"app": "details"}))
    world.eventually(lambda: world.ready(ns, "one") and world.ready(ns, "two"), "both Ready", 60)
    assert len(world.envoyfilters(ns)) == 2
    volumes = json.loads(_annotations(world, ns, "details")[USER_VOLUME])
    assert len(volumes) == 1
    # removing one keeps the mount the other still uses
    world.kube.delete(
        {
            "apiVersion": "wasme.io/v1",
            "kind": "FilterDeployment",
            "metadata": {"name": "one", "namespace": ns},
        }
    )
    world.eventually(lambda: len(world.envoyfilters(ns)) == 1, "one EnvoyFilter left")
    assert len(json.loads(_annotations(world, ns, "details")[USER_VOLUME])) == 1


def _hold_envoyfilters(world: World, ns: str, prefix: str) -> Callable[[], None]:
    """An admission policy (CEL, in the apiserver itself) refusing EnvoyFilters named
    ``prefix*`` in ``ns``: a pass writes the others and stops there, between two writes.
    Returns the release."""
    name = f"hold-{ns}"
    admission = "/apis/admissionregistration.k8s.io/v1/"
    world.kube.request(
        "POST",
        admission + "validatingadmissionpolicies",
        body={
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": ["networking.istio.io"],
                            "apiVersions": ["*"],
                            "operations": ["CREATE", "UPDATE"],
                            "resources": ["envoyfilters"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": f"!object.metadata.name.startsWith('{prefix}')",
                        "message": "held by the test",
                    }
                ],
            },
        },
    )
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}
            },
        },
    }
    world.kube.request("POST", admission + "validatingadmissionpolicybindings", body=binding)
    probe = {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": f"{prefix}probe", "namespace": ns},
        "spec": {},
    }
    path = f"/apis/networking.istio.io/v1alpha3/namespaces/{ns}/envoyfilters"

    def refused() -> bool:  # the policy is in force once a dry-run create is refused
        try:
            world.kube.request("POST", path, body=probe, params={"dryRun": "All"})
        except RuntimeError as exc:
            return "held by the test" in str(exc)
        return False

    world.eventually(refused, "the admission policy in force")

    def release() -> None:
        for plural in ("validatingadmissionpolicybindings", "validatingadmissionpolicies"):
            world.kube.request("DELETE", f"{admission}{plural}/{name}", ok=(200, 202, 404))

    return release


def test_operator_killed_mid_reconcile_converges_without_duplicates(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    publish("restart/filter:v1")
    ns = world.namespace_for_test()
    for i in range(3):
        world.workload(ns, f"w{i}", {"tier": "web"}, ["node-a", "node-b"])
    release = _hold_envoyfilters(world, ns, "w2-")
    try:
        world.filter_deployment(
            ns, "restart", _spec(registry.ref("restart/filter:v1"), {"tier": "web"})
        )
        # the pass got as far as the mounts and two of three EnvoyFilters, then stopped
        world.eventually(lambda: len(world.envoyfilters(ns)) == 2, "two EnvoyFilters", 60)
        world.stop_operator(kill=True)  # SIGKILL, mid-pass: the third write never happened
    finally:
        release()
    assert sorted(e["metadata"]["name"] for e in world.envoyfilters(ns)) == [
        f"w{i}-restart-{ns}" for i in range(2)
    ]
    assert all(USER_VOLUME in _annotations(world, ns, f"w{i}") for i in range(3))  # mounts first
    assert not world.ready(ns, "restart")
    world.start_operator()
    world.eventually(lambda: world.ready(ns, "restart"), "Ready after the restart", 60)
    names = sorted(e["metadata"]["name"] for e in world.envoyfilters(ns))
    assert names == [f"w{i}-restart-{ns}" for i in range(3)]
    for i in range(3):  # one cache volume and one user each: nothing written twice
        annotations = _annotations(world, ns, f"w{i}")
        assert [v["name"] for v in json.loads(annotations[USER_VOLUME])] == ["cache-dir"]
        assert [m["name"] for m in json.loads(annotations[USER_VOLUME_MOUNT])] == ["cache-dir"]
        workload = world.get_workload(ns, f"w{i}")
        assert workload["metadata"]["annotations"]["wasmkit.dev/cache-users"] == f"restart-{ns}"


def test_operator_install_applies_every_object(world: World) -> None:
    from wasmkit.cli._app import run_cli
    from wasmkit.cli.main import cli

    ns = f"install-{uuid.uuid4().hex[:6]}"
    code = run_cli(
        cli,
        [
            "operator",
            "install",
            "--namespace",
            ns,
            "--cache-image",
            "reg.local/cache:1",
            "--kubeconfig",
            str(world.kube.kubeconfig),
        ],
    )
    assert code == 0
    daemonset = world.kube.get(f"/apis/apps/v1/namespaces/{ns}/daemonsets/wasmkit-cache")
    assert daemonset["spec"]["template"]["spec"]["containers"][0]["image"] == "reg.local/cache:1"
    assert world.kube.status(f"/apis/apps/v1/namespaces/{ns}/deployments/wasmkit-operator") == 200
    role = world.kube.get("/apis/rbac.authorization.k8s.io/v1/clusterroles/wasmkit-operator")
    assert all("*" not in rule["verbs"] for rule in role["rules"])


def test_http_and_wasmplugin_deliveries_fetch_from_the_cache_service_by_sha256(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    pushed = publish("delivery/filter:v1")
    ns = world.namespace_for_test()
    world.workload(ns, "details", {"app": "details"}, ["node-a"])
    world.filter_deployment(
        ns,
        "by-http",
        _spec(registry.ref("delivery/filter:v1"), {"app": "details"}, delivery="http"),
    )
    plugin = _spec(registry.ref("delivery/filter:v1"), {"app": "details"}, delivery="wasmplugin")
    plugin["filter"]["config"] = '{"greeting": "world"}'
    world.filter_deployment(ns, "by-plugin", plugin)
    world.eventually(
        lambda: world.ready(ns, "by-http") and world.ready(ns, "by-plugin"), "Ready", 60
    )
    url = f"http://wasmkit-cache.{world.namespace}.svc.cluster.local:8080/{pushed.module_sha256}"
    [ef] = world.envoyfilters(ns)
    remote = ef["spec"]["configPatches"][-1]["patch"]["value"]["typed_config"]["config"]
    assert remote["vm_config"]["code"]["remote"]["http_uri"]["uri"] == url
    assert remote["vm_config"]["code"]["remote"]["sha256"] == pushed.module_sha256
    [wp] = world.wasmplugins(ns)
    assert wp["spec"]["url"] == url and wp["spec"]["sha256"] == pushed.module_sha256
    assert wp["metadata"]["ownerReferences"][0]["name"] == "by-plugin"
    assert _annotations(world, ns, "details") == {}  # nothing to mount: no restart
    # what the sidecars would fetch is there, by that name, on the node's cache
    port = world.cache_ports["node-a"]
    served = requests.get(f"http://127.0.0.1:{port}/{pushed.module_sha256}", timeout=10)
    assert hashlib.sha256(served.content).hexdigest() == pushed.module_sha256


def test_a_pull_secret_is_honoured_and_its_absence_fails(
    world: World, private_registry: Registry, tmp_path: Path
) -> None:
    store = LocalStore(tmp_path / "home")
    ref = private_registry.ref("private/filter:v1")
    store.add_module(
        compile_wat("add_header", tmp_path), ref, root_ids=["add_header"], abi_versions=["0.2.1"]
    )
    login(store, private_registry.host, "alice", "wonderland", private_registry.options)
    push(store, ref, private_registry.options)
    ns = world.namespace_for_test()
    auth = base64.b64encode(b"alice:wonderland").decode()
    config = {"auths": {private_registry.host: {"auth": auth}}}
    world.kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": "pull", "namespace": ns},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
        }
    )
    world.workload(ns, "details", {"app": "details"}, ["node-a", "node-b"])
    options = {"insecureSkipVerify": True}
    anonymous = _spec(ref, {"app": "details"})
    anonymous["filter"]["imagePullOptions"] = options
    world.filter_deployment(ns, "anonymous", anonymous)
    with_secret = _spec(ref, {"app": "details"})
    with_secret["filter"]["imagePullOptions"] = {**options, "pullSecret": "pull"}
    world.filter_deployment(ns, "with-secret", with_secret)
    world.eventually(lambda: world.ready(ns, "with-secret"), "Ready with the pull Secret", 60)

    def refused() -> str | None:
        conditions = world.fd(ns, "anonymous").get("status", {}).get("conditions", [])
        ready = next((c for c in conditions if c["type"] == "Ready"), None)
        return str(ready["message"]) if ready and ready["reason"] == "Failed" else None

    assert "authentication" in world.eventually(refused, "anonymous is Failed").lower()
    assert len(world.envoyfilters(ns)) == 1


def test_a_deleted_resource_is_evicted_from_the_nodes(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    pushed = publish("evict/filter:v1", wat="bodies", root_id="add_header")
    ns = world.namespace_for_test()
    world.workload(ns, "details", {"app": "details"}, ["node-a"])
    world.filter_deployment(ns, "evict", _spec(registry.ref("evict/filter:v1"), {"app": "details"}))
    world.eventually(lambda: world.ready(ns, "evict"), "Ready", 60)
    image = registry.ref(f"evict/filter@{pushed.manifest_digest}")
    assert image in _held(world, "node-b")  # every node holds what any resource names
    world.kube.delete(
        {
            "apiVersion": "wasme.io/v1",
            "kind": "FilterDeployment",
            "metadata": {"name": "evict", "namespace": ns},
        }
    )
    world.eventually(lambda: world.gone(ns, "evict"), "the resource gone")
    world.eventually(lambda: image not in _held(world, "node-b"), "evicted on node-b")


def _held(world: World, node: str) -> dict[str, str]:
    lease = world.kube.get(
        f"/apis/coordination.k8s.io/v1/namespaces/{world.namespace}/leases/wasmkit-cache-{node}"
    )
    return dict(json.loads(lease["metadata"]["annotations"]["wasme.io/held"]))


def test_an_apiserver_outage_is_retried(
    world: World, registry: Registry, publish: Callable[..., PushResult]
) -> None:
    publish("outage/filter:v1")
    ns = world.namespace_for_test()
    world.workload(ns, "details", {"app": "details"}, ["node-a"])
    world.workload(ns, "after", {"app": "after"}, ["node-a"])
    world.filter_deployment(
        ns, "during", _spec(registry.ref("outage/filter:v1"), {"app": "details"})
    )
    world.kube.restart(down_s=2.0)  # the operator is mid-pass or about to be: refused connections
    world.eventually(lambda: world.ready(ns, "during"), "Ready after the outage", 90)
    # the watches came back: a resource created after the outage is handled as it happens
    world.filter_deployment(ns, "after", _spec(registry.ref("outage/filter:v1"), {"app": "after"}))
    world.eventually(lambda: world.ready(ns, "after"), "Ready, created after the outage", 60)
    assert world.operator is not None and world.operator.alive()
    assert len(world.envoyfilters(ns)) == 2


def test_without_istiod_or_istio_version_the_operator_says_what_to_pass(world: World) -> None:
    # The session's apiserver may already hold an istiod Deployment in istio-system (the deploy
    # tests' `istiod` fixture, on the same worker): then the operator would find a release and
    # run for good. Take istio-system's istiods away for this test and put them back after; the
    # world's own operator runs with --istio-version and does not look.
    found = world.kube.get(
        "/apis/apps/v1/namespaces/istio-system/deployments?labelSelector=app%3Distiod"
    )
    if world.kube.status("/api/v1/namespaces/istio-system") == 404:
        found = {"items": []}
    kept = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                k: v for k, v in item["metadata"].items() if k in ("name", "namespace", "labels")
            },
            "spec": item["spec"],
        }
        for item in found["items"]
    ]
    for obj in kept:
        world.kube.delete(obj)
    try:
        # a subprocess with a deadline: an operator that starts after all fails the test, not CI
        done = wasmkit("operator", "run", "--kubeconfig", world.kube.kubeconfig, timeout=120)
    finally:
        for obj in kept:
            world.kube.apply(obj)
    assert done.returncode == 3, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "--istio-version" in done.stderr
