"""Start the operator (``wasmkit operator run``) and the node cache (``wasmkit cache serve``).

Both talk to the cluster of the current kubeconfig (or ``--kubeconfig``), or, inside a pod, of
their service account. Both run until ``stop`` is set (the CLI: until interrupted).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from wasmkit.deploy.apply import cluster_istio_version
from wasmkit.errors import EnvironmentProblem, WasmkitError
from wasmkit.kube import KubeClient
from wasmkit.oci import LocalStore
from wasmkit.operator.cache_server import CacheLoop, http_server
from wasmkit.operator.cluster import CacheCluster, KubeDeployer, OperatorCluster
from wasmkit.operator.images import ImageSource
from wasmkit.operator.install import DEFAULT_CACHE_PORT, DEFAULT_NAMESPACE
from wasmkit.operator.node_cache import NodeCache
from wasmkit.operator.reconcile import OperatorConfig, Reconciler
from wasmkit.operator.spec import KIND

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OperatorRun:
    config: OperatorConfig
    kubeconfig: Path | None = None
    context: str | None = None
    #: How often the caches' Leases are read while a resource waits for them.
    lease_poll: float = 0.5


def _log_counts(reconciler: Reconciler, kube: KubeClient, last: list[int]) -> None:
    counts = [reconciler.passes, kube.requests]
    if counts != last:
        last[:] = counts
        log.info(
            "operator counts: %d reconcile passes, %d API requests by wasmkit's client "
            "(kopf's watches and bookkeeping patches not counted)",
            *counts,
        )


def _poll_leases(
    reconciler: Reconciler, cluster: OperatorCluster, every: float, stop: threading.Event
) -> None:
    """While something is Pending, re-run it as soon as a cache reports something new; log
    the request counts when they change (the benchmark reads them)."""
    last: object = None
    counted: list[int] = []
    while not stop.wait(every):
        _log_counts(reconciler, cluster.kube, counted)
        waiting = reconciler.pending()
        if not waiting:
            last = None
            continue
        try:
            leases = cluster.cache_leases()
        except WasmkitError as exc:  # the next tick retries; kopf's backoff retries too
            log.warning("cannot read the caches' Leases: %s", exc)
            continue
        seen = sorted(str(lease["metadata"].get("resourceVersion")) for lease in leases)
        if seen == last:
            continue
        last = seen
        for namespace, name in waiting:
            try:
                reconciler.reconcile(namespace, name)
            except WasmkitError as exc:
                log.warning("pass of %s/%s failed, kopf retries it: %s", namespace, name, exc)


def run_operator(
    run: OperatorRun,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
) -> None:
    from wasmkit.operator import _kopf

    stop = stop or threading.Event()
    kube = KubeClient.connect(run.kubeconfig, run.context)
    config = run.config
    # without --istio-version each resource's istioNamespace is asked; the default one at start
    if not config.istio_version and cluster_istio_version(kube) is None:
        kube.close()
        raise EnvironmentProblem(
            "found no istiod Deployment (label app=istiod) with a versioned image in "
            "istio-system, so the Istio release the objects are written for is unknown",
            hint="pass --istio-version (e.g. --istio-version 1.29), or install Istio first",
        )
    cluster = OperatorCluster(kube, config.namespace)
    # a tag answer older than half a resync is asked again: every timer pass re-resolves
    images = ImageSource(LocalStore(), ttl=config.resync / 2)
    reconciler = Reconciler(cluster, KubeDeployer(kube), images, config)

    def names(namespace: str | None) -> list[tuple[str, str, str, dict[str, str]]]:
        """(namespace, name, workload kind, labels) of the FilterDeployments there."""
        out = []
        for fd in kube.list(KIND, namespace):
            istio = fd.get("spec", {}).get("deployment", {}).get("istio", {})
            meta = fd["metadata"]
            out.append(
                (
                    meta["namespace"],
                    meta["name"],
                    str(istio.get("kind")),
                    dict(istio.get("labels") or {}),
                )
            )
        return out

    registry = _kopf.build_registry(
        reconciler, kube.connection(), resync=config.resync, list_names=names
    )
    poller = threading.Thread(
        target=_poll_leases,
        args=(reconciler, cluster, run.lease_poll, stop),
        name="lease-poll",
        daemon=True,
    )
    poller.start()
    try:
        _kopf.run(registry, stop=stop, ready=ready)
    finally:
        stop.set()
        kube.close()


@dataclass(frozen=True)
class CacheRun:
    node: str
    directory: Path
    state_dir: Path
    namespace: str = DEFAULT_NAMESPACE
    host: str = "127.0.0.1"
    port: int = DEFAULT_CACHE_PORT
    interval: float = 2.0
    kubeconfig: Path | None = None
    context: str | None = None


def serve_cache(run: CacheRun, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    cache = NodeCache(run.directory, run.state_dir)
    with (
        KubeClient.connect(run.kubeconfig, run.context) as kube,
        http_server(cache, run.host, run.port) as server,
    ):
        log.info("node cache of %s serving on %s:%d", run.node, *server.server_address[:2])
        loop = CacheLoop(cache, CacheCluster(kube, run.namespace), run.node, run.interval)
        loop.run(stop)
