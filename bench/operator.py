"""Benchmark: the FilterDeployment operator on a real kube-apiserver, against `wasmkit deploy`.

1. Latency: with the module already on every node, the time from creating a FilterDeployment
   to its objects written and its status Ready (p50/p95 over --latency-runs resources, one
   workload each). Target: p50 < 1 s.
2. Cold start: --resources FilterDeployments over --workloads workloads (two filters per
   workload), created while the operator is stopped; the time from the operator's start until
   every one is Ready. Target: 100 in < 30 s. Baseline, side by side: the same filters deployed
   by the library behind `wasmkit deploy istio` (wasmkit.deploy.apply.deploy), one after another.
3. API requests per reconcile pass, from the operator's own counters (its log on exit).

    python bench/operator.py [--resources 100] [--workloads 50] [--latency-runs 20]
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.conftest import compile_wat  # noqa: E402
from tests.integration.oci.servers import run_registry  # noqa: E402
from tests.integration.operator.world import World, eventually, make_world  # noqa: E402
from tests.kube_server import istio_crds, kube_binaries, run_kube_server  # noqa: E402
from wasmkit.deploy import DeployRequest, ImageInfo  # noqa: E402
from wasmkit.deploy.apply import deploy  # noqa: E402
from wasmkit.kube import KubeClient  # noqa: E402
from wasmkit.oci import LocalStore, push  # noqa: E402


def _spec(image: str, app: str) -> dict[str, object]:
    return {
        "deployment": {"istio": {"kind": "Deployment", "labels": {"app": app}}},
        "filter": {"config": "world", "image": image, "imagePullOptions": {"plainHttp": True}},
    }


def _ready(world: World, ns: str, names: list[str]) -> bool:
    items = world.kube.get(f"/apis/wasme.io/v1/namespaces/{ns}/filterdeployments")["items"]
    done = {
        i["metadata"]["name"]
        for i in items
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in (i.get("status") or {}).get("conditions", [])
        )
    }
    return set(names) <= done


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def latency(world: World, image: str, runs: int) -> list[float]:
    ns = world.namespace_for_test()
    world.workload(ns, "warm", {"app": "warm"}, ["node-a", "node-b"])
    world.filter_deployment(ns, "warm", _spec(image, "warm"))
    eventually(lambda: _ready(world, ns, ["warm"]), "warm-up", 120, world.logs)
    times = []
    for i in range(runs):
        world.workload(ns, f"w{i}", {"app": f"w{i}"}, ["node-a", "node-b"])
        start = time.perf_counter()
        world.filter_deployment(ns, f"f{i}", _spec(image, f"w{i}"))
        while not _ready(world, ns, [f"f{i}"]):
            time.sleep(0.01)
        times.append(time.perf_counter() - start)
    return times


def cold_start(world: World, image: str, resources: int, workloads: int) -> tuple[float, str]:
    world.stop_operator()
    ns = world.namespace_for_test()
    for w in range(workloads):
        world.workload(ns, f"w{w}", {"app": f"w{w}"}, ["node-a" if w % 2 else "node-b"])
    names = []
    for r in range(resources):
        names.append(f"f{r}")
        world.filter_deployment(ns, f"f{r}", _spec(image, f"w{r % workloads}"))
    start = time.perf_counter()
    world.start_operator(resync=60)
    eventually(lambda: _ready(world, ns, names), "all Ready", 300, world.logs)
    elapsed = time.perf_counter() - start
    world.stop_operator()
    log = (world.directory / "operator.log").read_text(errors="replace")
    counts = re.findall(r"operator counts: (\d+) reconcile passes, (\d+) API requests", log)
    passes, requests = map(int, counts[-1]) if counts else (0, 0)
    per = f"{requests / passes:.1f}" if passes else "n/a"
    return elapsed, f"{passes} passes, {requests} requests, {per} per pass"


def baseline(world: World, info: ImageInfo, resources: int, workloads: int) -> float:
    ns = world.namespace_for_test()
    for w in range(workloads):
        world.workload(ns, f"w{w}", {"app": f"w{w}"}, ["node-a"])
    kube = KubeClient.connect(world.kube.kubeconfig)
    start = time.perf_counter()
    for r in range(resources):
        request = DeployRequest(
            image=info.ref,
            id=f"f{r}",
            namespace=ns,
            labels={"app": f"w{r % workloads}"},
            istio_version="1.29",
        )
        deploy(kube, request, info)
    elapsed = time.perf_counter() - start
    kube.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100)
    parser.add_argument("--workloads", type=int, default=50)
    parser.add_argument("--latency-runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with (
            run_kube_server(work / "kube", crds=istio_crds(), binaries=kube_binaries()) as kube,
            run_registry(work / "registry") as registry,
            make_world(kube, work / "world") as world,
        ):
            store = LocalStore(work / "home")
            ref = registry.ref("bench/add-header:v1")
            record = store.add_module(
                compile_wat("add_header", work),
                ref,
                root_ids=["add_header"],
                abi_versions=["0.2.1"],
            )
            push(store, ref, registry.options)
            info = ImageInfo(
                registry.ref(f"bench/add-header@{record.manifest_digest}"),
                record.manifest_digest,
                record.module_sha256,
                ("add_header",),
                ("0.2.1",),
            )
            world.start_cache("node-a")
            world.start_cache("node-b")
            world.start_operator()
            times = latency(world, ref, args.latency_runs)
            print(
                f"create -> objects written (module cached), {len(times)} resources: "
                f"p50 {statistics.median(times) * 1000:.0f} ms, "
                f"p95 {_percentile(times, 0.95) * 1000:.0f} ms (target p50 < 1000 ms)"
            )
            cold, requests = cold_start(world, ref, args.resources, args.workloads)
            base = baseline(world, info, args.resources, args.workloads)
            print(
                f"{args.resources} FilterDeployments over {args.workloads} workloads from a cold "
                f"start: operator {cold:.1f} s (target < 30 s); `wasmkit deploy` library, "
                f"sequential: {base:.1f} s; ratio operator/deploy {cold / base:.2f}x"
            )
            print(f"operator API requests: {requests}")


if __name__ == "__main__":
    main()
