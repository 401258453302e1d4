"""Benchmark: `wasmkit deploy istio` to 1, 10 and 50 matching workloads on a real apiserver.

Starts etcd + kube-apiserver (the test fixture's owner, tests/kube_server.py), creates N
Deployments, then deploys one filter (EnvoyFilter per workload + cache mount annotations) with
wasmkit's library call, and - side by side, on a fresh namespace - the same objects the way
wasme wrote them: GET each object, then create or replace it (its "ensure"). Prints wall time,
API requests per workload (counted by the client and by the apiserver's own
apiserver_request_total), and the ratio to that baseline. wasmkit's side includes Istio's own
validation (istio-check) where it is installed, as a user's deploy does. Requests per workload
are shown amortized (all / N) and marginal (beyond the 4 fixed ones: istiod, workloads,
EnvoyFilters, WasmPlugins). Target: 50 workloads in < 2 s with <= 2 requests per workload.

    python bench/deploy.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


from tests.kube_server import FILTER_IMAGE as IMAGE  # noqa: E402
from tests.kube_server import KubeServer, istio_crds, run_kube_server  # noqa: E402
from wasmkit.deploy import Api, DeployRequest, ModuleSource, parse_config, parse_labels  # noqa: E402  # noqa: E402
from wasmkit.deploy.apply import deploy, list_workloads, matching  # noqa: E402
from wasmkit.deploy.mounts import add_user, workload_patch  # noqa: E402
from wasmkit.deploy.render import render_objects  # noqa: E402
from wasmkit.deploy.spec import resolve_spec  # noqa: E402
from wasmkit.kube import KubeClient, resource  # noqa: E402

SIZES = (1, 10, 50)
#: istiod's version, the workloads, the id's EnvoyFilters and WasmPlugins (wasmkit/deploy/apply.py)
CONSTANT_REQUESTS = 4


def populate(server: KubeServer, size: int) -> str:
    namespace = server.create_namespace()
    for i in range(size):
        labels = {"app": "bench", "instance": f"w{i}"}
        server.apply(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"w{i}", "namespace": namespace},
                "spec": {
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
                    },
                },
            }
        )
    return namespace


def request_for(namespace: str) -> DeployRequest:
    return DeployRequest(
        image=IMAGE.ref,
        id="bench",
        namespace=namespace,
        config=parse_config("tomorrow"),
        labels=parse_labels(["app=bench"]),
        api=Api.ENVOYFILTER,
        source=ModuleSource.CACHE,
        istio_version="1.29",
    )


def ensure_style(kube: KubeClient, namespace: str) -> None:
    """The baseline: what wasme did per object - read it, then create or replace it."""
    spec = resolve_spec(request_for(namespace), IMAGE, "1.29")
    targets = matching(list_workloads(kube, spec.workload_kind, namespace), spec.labels)
    objects: list[dict[str, Any]] = render_objects(spec, targets)
    for obj in objects:
        res = resource(obj["kind"])
        path = res.path(namespace, obj["metadata"]["name"])
        current = kube.request("GET", path)
        if current is None:
            kube.request("POST", res.path(namespace), body=obj)
        else:
            obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            kube.request("PUT", path, body=obj)
    for workload in targets:
        res = resource(workload.kind.kind)
        path = res.path(namespace, workload.name)
        current = kube.request("GET", path)
        assert current is not None
        patch = workload_patch(workload, add_user(workload, spec.id))
        current["metadata"].setdefault("annotations", {}).update(patch["metadata"]["annotations"])
        template = current["spec"]["template"]["metadata"]
        template.setdefault("annotations", {}).update(
            patch["spec"]["template"]["metadata"]["annotations"]
        )
        kube.request("PUT", path, body=current)


def measure(server: KubeServer, size: int, wasmkit: bool) -> tuple[float, float, float]:
    """(seconds, client requests per workload, apiserver requests per workload)."""
    namespace = populate(server, size)
    before = server.metric_total("apiserver_request_total")
    with KubeClient.connect(server.kubeconfig) as kube:
        start = time.perf_counter()
        if wasmkit:
            result = deploy(kube, request_for(namespace), IMAGE)
            assert result.count("created") == size, result.changes
        else:
            ensure_style(kube, namespace)
        elapsed = time.perf_counter() - start
        client = kube.requests
    # The metrics scrape itself is one request; the namespace's own requests came before.
    served = server.metric_total("apiserver_request_total") - before - 1
    return elapsed, client / size, served / size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ci_cache = Path(os.environ.get("WASMKIT_CI_CACHE", Path.home() / ".cache/wasmkit-ci"))
    os.environ.setdefault("WASMKIT_ISTIO_CACHE", str(ci_cache / "istio"))
    with (
        tempfile.TemporaryDirectory(prefix="wasmkit-bench-deploy-") as work,
        run_kube_server(Path(work), crds=istio_crds()) as server,
    ):
        measure(server, 1, wasmkit=True)  # warm-up: imports, connections, istio-check's pages
        measure(server, 1, wasmkit=False)
        print(
            f"{'workloads':>9} {'wasmkit s':>10} {'req/wl':>7} {'marginal':>8} {'served/wl':>9} "
            f"{'ensure s':>9} {'req/wl':>7} {'ratio':>6}"
        )
        for size in SIZES:
            ours, theirs = [], []
            for _ in range(args.runs):  # alternate, so machine noise hits both sides
                ours.append(measure(server, size, wasmkit=True))
                theirs.append(measure(server, size, wasmkit=False))
            t_ours = statistics.median(r[0] for r in ours)
            t_theirs = statistics.median(r[0] for r in theirs)
            marginal = (ours[0][1] * size - CONSTANT_REQUESTS) / size
            ratio = t_ours / t_theirs
            print(
                f"{size:>9} {t_ours:>10.3f} {ours[0][1]:>7.2f} {marginal:>8.2f} "
                f"{ours[0][2]:>9.2f} {t_theirs:>9.3f} {theirs[0][1]:>7.2f} {ratio:>6.2f}"
            )
            if size == 50:
                verdict = "met" if t_ours < 2.0 and marginal <= 2.0 else "MISSED"
                print(
                    f"target (50 workloads < 2 s, <= 2 requests each beyond the 4 fixed): {verdict}"
                )


if __name__ == "__main__":
    main()
