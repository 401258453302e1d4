"""kopf, the operator framework, behind one module: the only place wasmkit imports it.

kopf watches and calls in; :class:`~wasmkit.operator.reconcile.Reconciler` decides. The handlers
are thin: a FilterDeployment created, changed or found at start-up is reconciled (a Pending one
raises ``TemporaryError`` with the reconciler's backoff, so kopf retries it); a timer reconciles
every resource every ``resync`` seconds (a re-pushed tag, a workload that appeared, anything
missed); deletion runs the cleanup behind kopf's finalizer. Drift is seen as it happens: an
EnvoyFilter or WasmPlugin the operator owns that changes or disappears, a workload that appears
or changes labels, each reconcile the resources concerned. (The caches' Leases are polled
while something is Pending, by :mod:`wasmkit.operator.run`: a watch would need list/watch on
Leases in every namespace.)

kopf keeps its bookkeeping in ``wasme.io/`` annotations (not in the status, whose schema prunes
unknown fields), posts no Kubernetes Events below warnings, and runs standalone (one replica).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import kopf

from wasmkit.kube import Connection
from wasmkit.operator.reconcile import Outcome, Reconciler
from wasmkit.operator.spec import GROUP, KIND, PLURAL, VERSION

log = logging.getLogger(__name__)

WORKLOAD_KINDS = (
    ("apps", "v1", "deployments"),
    ("apps", "v1", "daemonsets"),
    ("apps", "v1", "statefulsets"),
)
MANAGED = {"app.kubernetes.io/managed-by": "wasmkit"}


def _retry(outcome: Outcome) -> None:
    if outcome.retry_after is not None:
        raise kopf.TemporaryError(outcome.reason, delay=outcome.retry_after)


def _owner(body: Mapping[str, Any]) -> str | None:
    for ref in body.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == KIND and str(ref.get("apiVersion", "")).startswith(GROUP + "/"):
            return str(ref.get("name"))
    return None


def build_registry(
    reconciler: Reconciler,
    connection: Connection,
    *,
    resync: float,
    list_names: Callable[[str | None], list[tuple[str, str, str]]],
) -> kopf.OperatorRegistry:
    """All handlers, on a registry of their own (several operators can run in one process)."""
    registry = kopf.OperatorRegistry()
    fd = {"group": GROUP, "version": VERSION, "plural": PLURAL, "registry": registry}
    labels_seen: dict[str, dict[str, str]] = {}
    seen_lock = threading.Lock()

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.persistence.finalizer = f"{GROUP}/cleanup"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix=GROUP, key="last-handled-configuration"
        )
        settings.posting.level = logging.WARNING
        settings.scanning.disabled = True
        settings.watching.reconnect_backoff = 0.5
        settings.watching.server_timeout = 60
        settings.networking.error_backoffs = [0.5, 1, 2, 5, 10]
        settings.execution.max_workers = 8

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(
            server=connection.server,
            ca_path=connection.ca_file,
            insecure=not connection.verify,
            token=connection.token,
            certificate_path=connection.cert_file,
            private_key_path=connection.key_file,
            default_namespace=None,
        )

    @kopf.on.resume(**fd)
    @kopf.on.create(**fd)
    @kopf.on.update(**fd)
    def changed(namespace: str, name: str, **_: Any) -> None:
        _retry(reconciler.reconcile(namespace, name))

    @kopf.timer(**fd, interval=resync, initial_delay=resync)
    def resync_timer(namespace: str, name: str, **_: Any) -> None:
        reconciler.reconcile(namespace, name)

    @kopf.on.delete(**fd)
    def deleted(body: kopf.Body, **_: Any) -> None:
        reconciler.cleanup(dict(body))

    def owned_changed(body: kopf.Body, namespace: str, **_: Any) -> None:
        owner = _owner(body)
        if owner is not None:
            reconciler.reconcile(namespace, owner)

    for group, version, plural in (
        ("networking.istio.io", "v1alpha3", "envoyfilters"),
        ("extensions.istio.io", "v1alpha1", "wasmplugins"),
    ):
        kopf.on.event(group, version, plural, labels=MANAGED, registry=registry)(owned_changed)

    def workload_changed(body: kopf.Body, type: str | None, namespace: str, **_: Any) -> None:
        meta = body.get("metadata", {})
        labels = dict(
            body.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}
        )
        key = str(meta.get("uid"))
        with seen_lock:
            before = labels_seen.get(key)
            if type == "DELETED":
                labels_seen.pop(key, None)
            else:
                labels_seen[key] = labels
        if type is None or (type != "DELETED" and before == labels):
            # the initial listing (resume handlers cover it), or an annotation (ours: the
            # mount) or the status changed: the selection cannot have changed
            return
        for fd_namespace, fd_name, _kind in list_names(namespace):
            if _kind == body.get("kind"):
                reconciler.reconcile(fd_namespace, fd_name)

    for group, version, plural in WORKLOAD_KINDS:
        kopf.on.event(group, version, plural, registry=registry)(workload_changed)

    return registry


def run(
    registry: kopf.OperatorRegistry,
    *,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
) -> None:
    """Run the operator until ``stop`` is set (or forever)."""
    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=True,
        stop_flag=stop,
        ready_flag=ready,
    )
