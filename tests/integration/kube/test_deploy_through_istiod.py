"""What `wasmkit deploy istio` applied, as the API server stores it, works through a real istiod.

The EnvoyFilter deploy wrote for a Deployment is served by istiod 1.29.1 watching the same
apiserver (Kubernetes registry, as in a cluster: wasmkit.mesh); a plain Envoy 1.37 runs as that
workload's sidecar, with the node cache directory bound where deploy points (root: a private mount
namespace), and a request through it carries the filter's header.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.istio.conftest import sidecar_envoy  # noqa: F401  (fixture)
from tests.integration.kube.conftest import IMAGE, cache_sidecar
from tests.integration.oci.conftest import Result
from tests.kube_server import KubeServer
from wasmkit._process import can_bind_mount
from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.istio import IstioRelease
from wasmkit.oci import LocalStore

pytestmark = [pytest.mark.kube, pytest.mark.istio, pytest.mark.envoy]


def test_the_applied_envoyfilter_runs_in_the_workloads_sidecar(
    deploy_cli: Callable[..., Result],
    make: Callable[..., Any],
    kube_server: KubeServer,
    kube_namespace: str,
    store: LocalStore,
    istio_release: IstioRelease,
    sidecar_envoy: EnvoyBinary,  # noqa: F811
    tmp_path: Path,
) -> None:
    if not can_bind_mount():
        pytest.skip("the node cache mount needs a private mount namespace (root)")
    labels = {"app": "web", "version": "v1"}
    make("Deployment", "web-v1", labels)
    result = deploy_cli(
        "deploy", "istio", IMAGE, "--id", "hello", "-l", "app=web", "--config", "tomorrow",
        "--api", "envoyfilter",
    )  # fmt: skip
    assert result.code == 0, result.err
    path = f"/apis/networking.istio.io/v1alpha3/namespaces/{kube_namespace}/envoyfilters"
    assert [ef["metadata"]["name"] for ef in kube_server.get(path)["items"]] == ["web-v1-hello"]
    module = store.module_path(IMAGE)
    sha = store.resolve(IMAGE).module_sha256
    cache = tmp_path / "node-cache"
    cache.mkdir()
    (cache / sha).write_bytes(module.read_bytes())
    with cache_sidecar(
        kube_server, istio_release, sidecar_envoy, tmp_path / "mesh",
        ("web-v1", kube_namespace, labels), cache,
    ) as workload:  # fmt: skip
        response = requests.get(f"http://127.0.0.1:{workload.port}/", timeout=10)
    assert response.status_code == 200 and response.headers.get("hello") == "tomorrow"
