"""The blog post "Declarative WebAssembly deployment for Istio" (wasme), told with wasmkit as one
story on the real parts, and the README chapter "From the blog post to wasmkit" kept true by it.

init -> build -> test on both engines -> push to a real docker-registry -> ``deploy istio`` to
the real apiserver (workloads details-v1 and reviews-v1 as objects) -> undeploy -> the same with
``--labels app=details`` in Istio 1.5's form, equal field for field to what the post printed ->
the post's ``FilterDeployment`` -> the operator's node caches pull, it writes the EnvoyFilter,
status Succeeded -> istiod 1.29.1, watching the same apiserver as in a cluster, pushes that
EnvoyFilter to an Envoy 1.37 carrying the workload's labels, with node-a's cache bound where the
filter reads it -> ``hello: world`` -> config edited to ``tomorrow``: the operator rewrites the
EnvoyFilter and the header follows -> the resource deleted, the filter gone from the sidecar and
the workload restored. Nothing carries objects from the apiserver to istiod but istiod itself.

The README's commands are the ones run here (the registry's address stands for the test's),
and the output it shows is compared with this run's, digests and timings aside.
``WASMKIT_UPDATE_README=1`` writes this run's output into the chapter.
"""

from __future__ import annotations

import copy
import hashlib
import os
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import FIXTURES, REPO
from tests.integration.kube.conftest import cache_sidecar
from tests.integration.oci.conftest import Result
from tests.integration.oci.servers import Registry
from tests.integration.operator.world import World
from tests.integration.walkthrough.readme import Chapter
from wasmkit._process import can_bind_mount
from wasmkit.deploy.mounts import USER_VOLUME
from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.istio import IstioRelease

pytestmark = [
    pytest.mark.kube,
    pytest.mark.istio,
    pytest.mark.envoy,
    pytest.mark.registry,
    pytest.mark.toolchain,
    pytest.mark.slow,
]

README_REGISTRY = "localhost:5000"
IMAGE = f"{README_REGISTRY}/ceposta/demo-add-header:v0.2"
NS = "bookinfo"
FD = "bookinfo-custom-filter"
DETAILS = {"app": "details", "version": "v1"}
REVIEWS = {"app": "reviews", "version": "v1"}
EF_API = f"/apis/networking.istio.io/v1alpha3/namespaces/{NS}/envoyfilters"
DEPLOY = f"wasmkit deploy istio {IMAGE} --id=myfilter --namespace=bookinfo --config 'tomorrow'"
UNDEPLOY = "wasmkit undeploy istio --id=myfilter --namespace=bookinfo"

# In the README's order: the post's commands with `wasmkit` for `wasme`.
COMMANDS = [
    "wasmkit init ./filter --language cpp --platform istio --platform-version 1.5.x",
    f"wasmkit build filter -t {IMAGE}",
    "wasmkit test filter --engine both",
    f"wasmkit push {IMAGE} --plain-http",
    DEPLOY,
    UNDEPLOY,
    DEPLOY + " --labels app=details --istio-version 1.5",
    UNDEPLOY,
]


def _hello(port: int) -> str | None:
    response = requests.get(f"http://127.0.0.1:{port}/details/0", timeout=10)
    assert response.status_code == 200, response.text
    return response.headers.get("hello")


def test_the_blog_posts_walkthrough_end_to_end(
    wasmkit: Callable[..., Result],
    world: World,
    registry: Registry,
    istiod: str,
    istio_release: IstioRelease,
    sidecar_envoy: EnvoyBinary,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not can_bind_mount():
        pytest.skip("the node cache mount needs a private mount namespace (root)")
    chapter = Chapter.read(REPO / "README.md")
    assert chapter.commands() == COMMANDS, "the README's commands are not the ones this test runs"
    kube = world.kube
    monkeypatch.setenv("KUBECONFIG", str(kube.kubeconfig))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    host = registry.ref("x").split("/", 1)[0]
    outputs: list[str] = []

    def run(command: str) -> Result:
        args = shlex.split(command.replace(README_REGISTRY, host))
        result = wasmkit(*args[1:])
        assert result.code == 0, f"{command}\n{result.out}\n{result.err}"
        shown = (result.out + result.err).replace(host, README_REGISTRY)
        outputs.append(shown.replace(f"{work}/", "").replace(str(work), "."))
        return result

    # --- scaffold, build, test on both engines, push ------------------------------------------
    for command in COMMANDS[:4]:
        run(command)
    assert "ABI 0.1.0" in outputs[1] and "8 passed, 0 failed" in outputs[2]
    assert "engines agree on all 4 compared cases" in outputs[2]

    # --- the bookinfo workloads, as objects with a Pod each on a node with a cache ------------
    kube.create_namespace(NS)
    kube.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": NS}})  # fmt: skip
    world.workload(NS, "details-v1", DETAILS, ["node-a"], tagged=False)
    world.workload(NS, "reviews-v1", REVIEWS, ["node-b"], tagged=False)

    # --- deploy istio: every workload of the namespace, then undeploy --------------------------
    run(COMMANDS[4])
    names = sorted(ef["metadata"]["name"] for ef in kube.get(EF_API)["items"])
    assert names == ["details-v1-myfilter", "reviews-v1-myfilter"]
    typed = kube.get(f"{EF_API}/details-v1-myfilter")["spec"]["configPatches"][-1]
    hcm = typed["match"]["listener"]["filterChain"]["filter"]
    assert hcm["name"] == "envoy.filters.network.http_connection_manager"  # istiod 1.29's names
    assert hcm["subFilter"]["name"] == "envoy.filters.http.router"
    assert "typed_config" in typed["patch"]["value"]
    run(COMMANDS[5])
    assert kube.get(EF_API)["items"] == []

    # --- --labels app=details in Istio 1.5's form: the post's EnvoyFilter, field for field -----
    run(COMMANDS[6])
    [ef] = kube.get(EF_API)["items"]
    module = (work / "filter" / "build" / "filter.wasm").read_bytes()
    seed = yaml.safe_load((FIXTURES / "deploy" / "seed-envoyfilter.yaml").read_text())
    seed_sha = "44bf95b368e78fafb663020b43cf099b23fc6032814653f2f47e4d20643e7267"
    ours_sha = hashlib.sha256(module).hexdigest()
    expected = yaml.safe_load(yaml.safe_dump(seed["spec"]).replace(seed_sha, ours_sha))
    assert ef["spec"] == expected
    assert {k: ef["metadata"][k] for k in ("name", "namespace")} == seed["metadata"]
    run(COMMANDS[7])
    assert kube.get(EF_API)["items"] == []
    details = world.get_workload(NS, "details-v1")
    assert USER_VOLUME not in (details["spec"]["template"]["metadata"].get("annotations") or {})

    # --- the post's FilterDeployment, the operator -------------------------------------------
    document = chapter.filter_deployment()
    post = yaml.safe_load((FIXTURES / "operator" / "seed-filterdeployment.yaml").read_text())
    as_posted = copy.deepcopy(document)  # the README's is the post's, but for the registry
    assert as_posted["spec"]["filter"].pop("imagePullOptions") == {"plainHttp": True}
    as_posted["spec"]["filter"]["image"] = post["spec"]["filter"]["image"]
    assert as_posted == post
    applied = copy.deepcopy(document)
    applied["spec"]["filter"]["image"] = document["spec"]["filter"]["image"].replace(
        README_REGISTRY, host
    )
    kube.apply(applied)
    fd = world.eventually(lambda: world.ready(NS, FD), "FilterDeployment Ready", 90)
    status = fd["status"]
    assert status["workloads"] == [
        {"kind": "Deployment", "name": "details-v1", "state": "Succeeded", "reason": ""}
    ]
    assert status["moduleSha256"] == ours_sha
    assert (world.cache_dirs["node-a"] / "modules" / ours_sha).read_bytes() == module
    outputs.append(yaml.safe_dump({"status": _shown_status(status)}, sort_keys=False))
    [ef] = kube.get(EF_API)["items"]
    assert ef["spec"]["workloadSelector"]["labels"] == DETAILS

    # --- istiod pushes it to details-v1's sidecar, with node-a's cache where the filter reads -
    with cache_sidecar(
        kube, istio_release, sidecar_envoy, tmp_path / "mesh", ("details-v1", NS, DETAILS),
        world.cache_dirs["node-a"] / "modules",
    ) as workload:  # fmt: skip
        assert _hello(workload.port) == "world"

        # config edited: the operator rewrites the EnvoyFilter, istiod pushes, the header follows
        edited = copy.deepcopy(applied)
        edited["spec"]["filter"]["config"] = "tomorrow"
        kube.apply(edited)
        world.eventually(lambda: _with_config(kube.get(EF_API)["items"], "tomorrow"), "edit")
        world.eventually(lambda: _hello(workload.port) == "tomorrow", "hello: tomorrow", 20)

        # deleted: objects gone, the workload as it was, and the sidecar runs without the filter
        kube.delete(applied)
        world.eventually(lambda: world.gone(NS, FD), "FilterDeployment deleted", 30)
        assert kube.get(EF_API)["items"] == []
        world.eventually(lambda: _hello(workload.port) is None, "filter removed", 20)
    details = world.get_workload(NS, "details-v1")
    assert USER_VOLUME not in (details["spec"]["template"]["metadata"].get("annotations") or {})

    chapter.check(outputs, update=bool(os.environ.get("WASMKIT_UPDATE_README")))


def _with_config(items: list[dict[str, Any]], config: str) -> dict[str, Any] | None:
    for ef in items:
        if config in yaml.safe_dump(ef["spec"]):
            return ef
    return None


def _shown_status(status: dict[str, Any]) -> dict[str, Any]:
    """The status fields the README shows (conditions carry times)."""
    keys = ("observedGeneration", "digest", "moduleSha256", "rootID", "workloads", "nodes")
    return {k: status[k] for k in keys if k in status}
