"""What one operator pass asks the real apiserver: each list once.

The pass has already read the workloads (to pick those whose nodes hold the module) and knows
the Istio release (from ``--istio-version`` or istiod at start): the deploy it runs must not read
them again. The FilterDeployment is handed over as the watch would (no operator process runs).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.integration.kube.conftest import workload
from tests.kube_server import FILTER_IMAGE, KubeServer
from wasmkit.kube import KubeClient, KubeObject
from wasmkit.oci import Credential, RegistryOptions, parse
from wasmkit.operator.cluster import KubeDeployer, OperatorCluster
from wasmkit.operator.images import Pinned
from wasmkit.operator.reconcile import OperatorConfig, Reconciler
from wasmkit.operator.spec import WorkloadState

pytestmark = [pytest.mark.kube]

PINNED = f"{FILTER_IMAGE.ref.rsplit(':', 1)[0]}@{FILTER_IMAGE.manifest_digest}"


class Counting(KubeClient):
    """Counts (method, path) of every request."""

    seen: Counter[tuple[str, str]]

    def request(self, method: str, path: str, **kw: Any) -> KubeObject | None:
        self.seen[(method, path)] += 1
        return super().request(method, path, **kw)


class Handed(OperatorCluster):
    """The resource as the watch hands it over; its status kept here."""

    fd: dict[str, Any]

    def filter_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.fd

    def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.fd["status"] = status


class Images:
    def get(self, image: str, options: RegistryOptions, credential: Credential | None) -> Pinned:
        return Pinned(parse(PINNED), FILTER_IMAGE)


def _operator(
    kube_server: KubeServer,
    ns: str,
    config: OperatorConfig,
    filter_extra: dict[str, Any] | None = None,
    **istio: str,
) -> tuple[Reconciler, Counting]:
    """A Reconciler on the apiserver, handed FilterDeployment ``ns/f`` (tier=web)."""
    plain = KubeClient.connect(kube_server.kubeconfig)
    kube = Counting(plain._api)
    kube.seen = Counter()
    cluster = Handed(kube, "wasmkit-system")
    cluster.fd = {
        "apiVersion": "wasme.io/v1",
        "kind": "FilterDeployment",
        "metadata": {"name": "f", "namespace": ns, "uid": "u-1", "generation": 1},
        "spec": {
            "deployment": {"istio": {"kind": "Deployment", "labels": {"tier": "web"}, **istio}},
            "filter": {"config": "world", "image": FILTER_IMAGE.ref, **(filter_extra or {})},
        },
    }
    return Reconciler(cluster, KubeDeployer(kube), Images(), config), kube


def test_a_pass_lists_workloads_once_and_never_asks_for_istiod(
    kube_server: KubeServer, kube_namespace: str
) -> None:
    ns = kube_namespace
    for i in range(3):  # no Pods: no node to wait for, so the pass deploys at once
        kube_server.apply(workload("Deployment", f"w{i}", ns, {"tier": "web"}))
    reconciler, kube = _operator(kube_server, ns, OperatorConfig(istio_version="1.29"))
    with kube:
        outcome = reconciler.reconcile(ns, "f")
        assert outcome.state is WorkloadState.SUCCEEDED, outcome
        lists = {path: n for (method, path), n in kube.seen.items() if method == "GET"}
        assert lists[f"/apis/apps/v1/namespaces/{ns}/deployments"] == 1, kube.seen
        assert not [p for p in lists if "istio-system" in p], kube.seen
        writes = sum(n for (method, _), n in kube.seen.items() if method == "PATCH")
        assert writes == 6  # a mount and an EnvoyFilter per workload


def test_istio_namespace_says_where_istiod_runs_and_so_which_form_is_written(
    kube_server: KubeServer, kube_namespace: str
) -> None:
    ns = kube_namespace
    mesh = kube_server.create_namespace()
    istiod = workload("Deployment", "istiod", mesh, {"app": "istiod"})
    istiod["spec"]["template"]["spec"]["containers"][0]["image"] = "docker.io/istio/pilot:1.8.6"
    kube_server.apply(istiod)
    kube_server.apply(workload("Deployment", "w0", ns, {"tier": "web"}))
    reconciler, kube = _operator(kube_server, ns, OperatorConfig(), istioNamespace=mesh)
    with kube:
        outcome = reconciler.reconcile(ns, "f")
    assert outcome.state is WorkloadState.SUCCEEDED, outcome
    [ef] = kube_server.get(f"/apis/networking.istio.io/v1alpha3/namespaces/{ns}/envoyfilters")[
        "items"
    ]
    value = ef["spec"]["configPatches"][-1]["patch"]["value"]
    assert value["typed_config"]["type_url"].endswith("envoy.extensions.filters.http.wasm.v3.Wasm")
    assert value["typed_config"]["@type"] == "type.googleapis.com/udpa.type.v1.TypedStruct"


def test_patch_context_reaches_the_envoyfilter(
    kube_server: KubeServer, kube_namespace: str
) -> None:
    ns = kube_namespace
    kube_server.apply(workload("Deployment", "w0", ns, {"tier": "web"}))
    config = OperatorConfig(istio_version="1.29")
    extra = {"patchContext": "outbound", "rootID": "add_header"}
    reconciler, kube = _operator(kube_server, ns, config, extra)
    with kube:
        assert reconciler.reconcile(ns, "f").state is WorkloadState.SUCCEEDED
    [ef] = kube_server.get(f"/apis/networking.istio.io/v1alpha3/namespaces/{ns}/envoyfilters")[
        "items"
    ]
    assert {p["match"]["context"] for p in ef["spec"]["configPatches"]} == {"SIDECAR_OUTBOUND"}
