"""The reconcile pass's decisions, on in-memory stand-ins for the cluster, deployer and registry.

The same scenarios run against a real kube-apiserver and registry in
tests/integration/operator/; these pin the ordering rules fast: nothing is deployed to a
workload before its nodes hold the module, a bad image patches nothing, a registry outage is
retried.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from wasmkit.deploy import DeployRequest, ImageInfo, Workload
from wasmkit.errors import ManifestUnknown, ServiceUnavailable
from wasmkit.oci import Credential, RegistryOptions, parse
from wasmkit.operator.images import Pinned
from wasmkit.operator.node_cache import Report
from wasmkit.operator.observe import lease_body
from wasmkit.operator.reconcile import OperatorConfig, Reconciler
from wasmkit.operator.spec import WorkloadState

DIGEST = "sha256:" + "b" * 64
IMAGE = f"reg.local/f/add-header@{DIGEST}"


def _fd(**istio: Any) -> dict[str, Any]:
    return {
        "apiVersion": "wasme.io/v1",
        "kind": "FilterDeployment",
        "metadata": {"name": "add", "namespace": "shop", "uid": "u-1", "generation": 3},
        "spec": {
            "deployment": {"istio": {"kind": "Deployment", "labels": {"app": "details"}, **istio}},
            "filter": {"config": "world", "image": "reg.local/f/add-header:v1"},
        },
    }


def _deployment(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "uid": name},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}}},
    }


def _pod(labels: dict[str, str], node: str) -> dict[str, Any]:
    return {"metadata": {"labels": labels}, "spec": {"nodeName": node}, "status": {}}


class FakeCluster:
    def __init__(self) -> None:
        self.fd: dict[str, Any] | None = _fd()
        self.deployments = [_deployment("details", {"app": "details"})]
        self.pod_list = [_pod({"app": "details"}, "node-a")]
        self.held: dict[str, dict[str, str]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.istiods = {"istio-system": "1.29.1"}  # namespace -> release
        self.istiod_reads: list[str] = []

    def istio_version(self, namespace: str) -> str | None:
        self.istiod_reads.append(namespace)
        return self.istiods.get(namespace)

    def filter_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.fd)

    def workloads(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.deployments)

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        return self.pod_list

    def cache_leases(self) -> list[dict[str, Any]]:
        return [lease_body(node, Report(held, {})) for node, held in self.held.items()]

    def pull_credential(self, namespace: str, secret: str, registry: str) -> Credential | None:
        return None

    def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.statuses.append(status)
        assert self.fd is not None
        self.fd["status"] = status


class FakeDeployer:
    def __init__(self) -> None:
        self.applied: list[tuple[list[str], list[str]]] = []
        self.removed: list[str] = []
        self.releases: list[str] = []

    def apply(
        self,
        request: DeployRequest,
        image: ImageInfo,
        targets: Sequence[Workload],
        keep: Sequence[Workload],
        owner: Mapping[str, Any],
        listed: Sequence[Workload],
        istiod: str,
    ) -> None:
        assert owner["uid"] == "u-1" and owner["controller"] is True
        assert {w.name for w in targets} <= {w.name for w in listed}
        assert request.istio_version == istiod
        self.releases.append(istiod)
        self.applied.append(([w.name for w in targets], [w.name for w in keep]))

    def remove(self, filter_id: str, namespace: str) -> None:
        self.removed.append(filter_id)


class FakeImages:
    def __init__(self) -> None:
        self.error: Exception | None = None

    def get(self, image: str, options: RegistryOptions, credential: Credential | None) -> Pinned:
        if self.error:
            raise self.error
        info = ImageInfo(IMAGE, DIGEST, "c" * 64, ("add_header",), ("0.2.1",))
        return Pinned(parse(IMAGE), info)


@pytest.fixture
def world() -> tuple[Reconciler, FakeCluster, FakeDeployer, FakeImages]:
    cluster, deployer, images = FakeCluster(), FakeDeployer(), FakeImages()
    return (
        Reconciler(cluster, deployer, images, OperatorConfig(istio_version="1.29")),
        cluster,
        deployer,
        images,
    )


def test_nothing_is_deployed_until_the_workloads_node_holds_the_module(world) -> None:  # type: ignore[no-untyped-def]
    reconciler, cluster, deployer, _ = world
    outcome = reconciler.reconcile("shop", "add")
    assert outcome.state is WorkloadState.PENDING and outcome.retry_after == 1
    assert deployer.applied == [([], ["details"])]  # nothing targeted; kept as it is
    status = cluster.statuses[-1]
    assert status["image"] == IMAGE  # the caches are told
    assert status["appliedImage"] == ""
    assert status["workloads"][0]["state"] == "Pending"
    assert "node-a" in status["workloads"][0]["reason"]
    assert reconciler.reconcile("shop", "add").retry_after == 2  # backoff grows
    assert reconciler.pending() == [("shop", "add")]

    cluster.held["node-a"] = {IMAGE: "c" * 64}
    outcome = reconciler.reconcile("shop", "add")
    assert outcome.state is WorkloadState.SUCCEEDED and outcome.retry_after is None
    assert deployer.applied[-1] == (["details"], [])
    status = cluster.statuses[-1]
    assert status["appliedImage"] == IMAGE and status["rootID"] == "add_header"
    assert status["observedGeneration"] == 3
    assert [c["status"] for c in status["conditions"]] == ["True", "False"]
    assert status["nodes"] == [{"name": "node-a", "ready": True, "reason": ""}]
    assert reconciler.pending() == []

    writes = len(cluster.statuses)
    reconciler.reconcile("shop", "add")
    assert len(cluster.statuses) == writes  # the same status is not written again


def test_waiting_past_the_cache_timeout_is_degraded_and_still_retried() -> None:
    cluster, deployer, images = FakeCluster(), FakeDeployer(), FakeImages()
    now = [1000.0]
    reconciler = Reconciler(
        cluster,
        deployer,
        images,
        OperatorConfig(istio_version="1.29", cache_timeout=60),
        clock=lambda: now[0],
    )
    reconciler.reconcile("shop", "add")
    degraded = cluster.statuses[-1]["conditions"][1]
    assert degraded["status"] == "False"
    now[0] += 61
    outcome = reconciler.reconcile("shop", "add")
    assert outcome.state is WorkloadState.PENDING and outcome.retry_after is not None
    degraded = cluster.statuses[-1]["conditions"][1]
    assert (degraded["status"], degraded["reason"]) == ("True", "CacheTimeout")
    assert "node-a" in degraded["message"]
    cluster.held["node-a"] = {IMAGE: "c" * 64}
    reconciler.reconcile("shop", "add")
    assert cluster.statuses[-1]["conditions"][1]["status"] == "False"


def test_a_missing_image_fails_with_the_reason_and_patches_nothing(world) -> None:  # type: ignore[no-untyped-def]
    reconciler, cluster, deployer, images = world
    images.error = ManifestUnknown("reg.local/f/add-header has no tag v1", hint="h")
    outcome = reconciler.reconcile("shop", "add")
    assert outcome.state is WorkloadState.FAILED and outcome.retry_after is None
    assert deployer.applied == []
    ready = cluster.statuses[-1]["conditions"][0]
    assert ready["status"] == "False" and "no tag v1" in ready["message"]


def test_an_unreachable_registry_is_retried(world) -> None:  # type: ignore[no-untyped-def]
    reconciler, _, deployer, images = world
    images.error = ServiceUnavailable("cannot reach the registry reg.local")
    outcome = reconciler.reconcile("shop", "add")
    assert outcome.state is WorkloadState.PENDING and outcome.retry_after == 1
    assert deployer.applied == []


def test_a_wasmplugin_waits_for_every_selected_workloads_nodes(world) -> None:  # type: ignore[no-untyped-def]
    reconciler, cluster, deployer, _ = world
    assert cluster.fd is not None
    cluster.fd = _fd(delivery="wasmplugin", labels={"tier": "web"})
    cluster.fd["spec"]["filter"]["config"] = '{"greeting": "world"}'
    cluster.deployments = [_deployment(n, {"tier": "web", "app": n}) for n in ("a", "b")]
    cluster.pod_list = [
        _pod({"tier": "web", "app": "a"}, "n1"),
        _pod({"tier": "web", "app": "b"}, "n2"),
    ]
    cluster.held["n1"] = {IMAGE: "c" * 64}
    assert reconciler.reconcile("shop", "add").state is WorkloadState.PENDING
    assert deployer.applied == []
    cluster.held["n2"] = {IMAGE: "c" * 64}
    assert reconciler.reconcile("shop", "add").state is WorkloadState.SUCCEEDED
    assert deployer.applied == [(["a", "b"], [])]


def test_a_deleted_resource_is_cleaned_up(world) -> None:  # type: ignore[no-untyped-def]
    reconciler, cluster, deployer, _ = world
    assert cluster.fd is not None
    reconciler.cleanup(cluster.fd)
    assert deployer.removed == ["add-shop"]
    cluster.fd = None
    assert reconciler.reconcile("shop", "add").state is None


def test_without_istio_version_the_release_is_read_from_the_resources_istio_namespace() -> None:
    cluster, deployer, images = FakeCluster(), FakeDeployer(), FakeImages()
    now = [0.0]
    reconciler = Reconciler(cluster, deployer, images, OperatorConfig(resync=60), lambda: now[0])
    cluster.istiods["mesh"] = "1.8.6"
    cluster.fd = _fd(istioNamespace="mesh")
    cluster.held["node-a"] = {IMAGE: "c" * 64}
    assert reconciler.reconcile("shop", "add").state is WorkloadState.SUCCEEDED
    assert deployer.releases == ["1.8.6"] and cluster.istiod_reads == ["mesh"]
    reconciler.reconcile("shop", "add")
    assert cluster.istiod_reads == ["mesh"]  # asked once per resync, not per pass
    now[0] = 61.0
    cluster.istiods["mesh"] = "1.9.0"  # istiod upgraded
    reconciler.reconcile("shop", "add")
    assert deployer.releases[-1] == "1.9.0"

    # the default namespace, istio-system
    cluster.fd = _fd()
    reconciler.reconcile("shop", "add")
    assert deployer.releases[-1] == "1.29.1"

    # no istiod there: Pending with the namespace named, nothing deployed, retried
    cluster.fd = _fd(istioNamespace="nowhere")
    applied = len(deployer.applied)
    outcome = reconciler.reconcile("shop", "add")
    assert outcome.state is WorkloadState.PENDING and outcome.retry_after is not None
    assert "namespace nowhere" in outcome.reason and "istioNamespace" in outcome.reason
    assert len(deployer.applied) == applied


def test_istio_version_set_wins_over_the_istio_namespace(world) -> None:  # type: ignore[no-untyped-def]
    reconciler, cluster, deployer, _ = world
    cluster.fd = _fd(istioNamespace="mesh")  # no istiod there: not asked
    cluster.held["node-a"] = {IMAGE: "c" * 64}
    assert reconciler.reconcile("shop", "add").state is WorkloadState.SUCCEEDED
    assert deployer.releases == ["1.29"] and cluster.istiod_reads == []
