"""Fixtures for deploy against the real apiserver: workloads as objects, images in a store."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import compile_wat
from tests.integration.istio.conftest import istio_release  # noqa: F401  (fixture)
from tests.integration.oci.conftest import (  # noqa: F401  (fixtures)
    Result,
    home,
    registry,
    wasmkit,
)
from tests.kube_server import KubeServer
from wasmkit.deploy.spec import CACHE_DIR
from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.envoy.upstream import EchoUpstream
from wasmkit.istio import IstioRelease
from wasmkit.istio.istiod import free_port
from wasmkit.mesh.box import MeshBox
from wasmkit.mesh.workload import Workload as MeshWorkload
from wasmkit.mesh.workload import mtls_off
from wasmkit.oci import LocalStore

IMAGE = "registry.example/filters/add-header:v1"
ISTIOD_IMAGE = "docker.io/istio/pilot:1.29.1"

Workload = dict[str, Any]


def workload(
    kind: str,
    name: str,
    namespace: str,
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> Workload:
    """A Deployment/DaemonSet/StatefulSet object (no controller runs: it stays an object)."""
    template: dict[str, Any] = {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
    }
    if annotations:
        template["metadata"]["annotations"] = dict(annotations)
    spec: dict[str, Any] = {"selector": {"matchLabels": labels}, "template": template}
    if kind == "StatefulSet":
        spec["serviceName"] = name
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
    }


@pytest.fixture(scope="session")
def istiod(kube_server: KubeServer) -> str:
    """An istiod Deployment object in istio-system, so deploy can read Istio's version."""
    kube_server.create_namespace("istio-system")
    obj = workload("Deployment", "istiod", "istio-system", {"app": "istiod"})
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = ISTIOD_IMAGE
    kube_server.apply(obj)
    return "1.29.1"


@pytest.fixture
def store(home: Path, tmp_path: Path) -> LocalStore:  # noqa: F811
    """The local store holding IMAGE (add_header.wat: root id add_header, ABI 0.2.1)."""
    store = LocalStore(home)
    module = compile_wat("add_header", tmp_path)
    store.add_module(module, IMAGE, root_ids=["add_header"], abi_versions=["0.2.1"])
    return store


@pytest.fixture
def make(kube_server: KubeServer, kube_namespace: str) -> Callable[..., Workload]:
    """``make("Deployment", "details-v1", {"app": "details"})`` creates it in the namespace."""

    def create(kind: str, name: str, labels: dict[str, str], **kw: Any) -> Workload:
        obj = workload(kind, name, kube_namespace, labels, **kw)
        kube_server.apply(obj)
        return copy.deepcopy(obj)

    return create


@pytest.fixture
def deploy_cli(
    wasmkit: Callable[..., Result],  # noqa: F811
    kube_server: KubeServer,
    kube_namespace: str,
    istiod: str,
    store: LocalStore,
    istio_release: IstioRelease,  # noqa: F811  (deploy runs Istio's validation when installed)
) -> Callable[..., Result]:
    """``deploy_cli("deploy", "istio", IMAGE, "--id", "f", ...)`` against the test cluster."""

    def run(*args: str, kubeconfig: Path | None = None) -> Result:
        config = str(kubeconfig or kube_server.kubeconfig)
        return wasmkit(*args, "--kubeconfig", config, "-n", kube_namespace)

    return run


@contextmanager
def cache_sidecar(
    kube: KubeServer,
    release: IstioRelease,
    envoy: EnvoyBinary,
    run_dir: Path,
    workload: tuple[str, str, dict[str, str]],
    node_cache: Path,
) -> Iterator[MeshWorkload]:
    """A real istiod watching the test apiserver (as in a cluster) and the sidecar of
    ``workload`` (name, namespace, pod labels), with ``node_cache`` bound where deploy's cache
    source points (root: a private mount namespace); yields once the filter is applied. The
    sidecar's Sidecar object and mTLS off are applied for the run and deleted after it."""
    name, namespace, labels = workload
    Path(CACHE_DIR).mkdir(parents=True, exist_ok=True)  # the mount point; empty on the host
    with (
        EchoUpstream() as upstream,
        MeshBox(release, envoy, run_dir, kubeconfig=kube.kubeconfig) as box,
    ):
        mesh_workload = MeshWorkload(name, free_port(), upstream.port, namespace, labels)
        objects = [mtls_off(), mesh_workload.sidecar()]
        for obj in objects:
            kube.apply(obj)
        try:
            sidecar = box.add_sidecar(mesh_workload, mounts=[(node_cache, Path(CACHE_DIR))])
            verdict = box.verdict(sidecar)
            assert verdict.applied, (verdict, box.logs())
            yield mesh_workload
        finally:
            for obj in objects:
                kube.delete(obj)
