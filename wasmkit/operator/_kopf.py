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

from wasmkit.deploy.spec import FIELD_MANAGER
from wasmkit.errors import WasmkitError
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


#: After the API server or the registry failed mid-pass (the pass is safe to repeat).
ERROR_DELAY = 2.0


def _pass(run: Callable[[], Outcome | None], *, retry: bool) -> None:
    """Run a pass; with ``retry``, ask kopf to come back (Pending, or a failure mid-pass)."""
    try:
        outcome = run()
    except WasmkitError as exc:
        log.warning("pass failed, retrying: %s", exc)
        if retry:
            raise kopf.TemporaryError(str(exc), delay=ERROR_DELAY) from None
        return
    if retry and outcome is not None and outcome.retry_after is not None:
        raise kopf.TemporaryError(outcome.reason, delay=outcome.retry_after)


def _owner(body: Mapping[str, Any]) -> str | None:
    for ref in body.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("kind") == KIND and str(ref.get("apiVersion", "")).startswith(GROUP + "/"):
            return str(ref.get("name"))
    return None


class _PendingIsNotAnError(logging.Filter):
    """kopf logs every ``TemporaryError`` as an error; a resource waiting for the node caches
    (or a registry that is briefly down) is the normal course, so it is a warning here."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.ERROR and "failed temporarily" in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _last_writer(body: Mapping[str, Any]) -> str | None:
    """The field manager of the latest write (ours echoing back is not drift)."""
    entries = body.get("metadata", {}).get("managedFields") or []
    latest = max(entries, key=lambda e: str(e.get("time", "")), default=None)
    return str(latest.get("manager")) if latest else None


def build_registry(
    reconciler: Reconciler,
    connection: Connection,
    *,
    resync: float,
    list_names: Callable[[str | None], list[tuple[str, str, str, dict[str, str]]]],
) -> kopf.OperatorRegistry:
    """All handlers, on a registry of their own (several operators can run in one process)."""
    registry = kopf.OperatorRegistry()
    logging.getLogger("kopf.objects").addFilter(_PendingIsNotAnError())
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
        # stop promptly: nothing of ours needs a grace period (every pass can be repeated)
        settings.process.ultimate_exiting_timeout = 5
        settings.background.instant_exit_timeout = 1

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(
            server=connection.server,
            ca_path=connection.ca_file,
            insecure=not connection.verify,
            token=connection.token,
            certificate_path=connection.cert_file,
            private_key_path=connection.key_file,
        )

    def changed(**kwargs: Any) -> None:
        _pass(lambda: reconciler.reconcile(kwargs["namespace"], kwargs["name"]), retry=True)

    def resync_timer(**kwargs: Any) -> None:
        _pass(lambda: reconciler.reconcile(kwargs["namespace"], kwargs["name"]), retry=False)

    def deleted(**kwargs: Any) -> None:
        try:
            reconciler.cleanup(dict(kwargs["body"]))
        except WasmkitError as exc:  # the finalizer stays until the cleanup is done
            raise kopf.TemporaryError(f"cleanup: {exc}", delay=ERROR_DELAY) from None

    for on in (kopf.on.resume, kopf.on.create, kopf.on.update):
        on(GROUP, VERSION, PLURAL, registry=registry)(changed)
    kopf.on.delete(GROUP, VERSION, PLURAL, registry=registry)(deleted)
    kopf.timer(GROUP, VERSION, PLURAL, interval=resync, initial_delay=resync, registry=registry)(
        resync_timer
    )

    def owned_changed(**kwargs: Any) -> None:
        event, body = kwargs.get("type"), kwargs["body"]
        if event is None or (event != "DELETED" and _last_writer(body) == FIELD_MANAGER):
            return  # the initial listing (resume covers it), or our own write coming back
        owner = _owner(body)
        if owner is not None:
            _pass(lambda: reconciler.reconcile(kwargs["namespace"], owner), retry=False)

    for group, version, plural in (
        ("networking.istio.io", "v1alpha3", "envoyfilters"),
        ("extensions.istio.io", "v1alpha1", "wasmplugins"),
    ):
        kopf.on.event(group, version, plural, labels=MANAGED, registry=registry)(owned_changed)

    def workload_changed(**kwargs: Any) -> None:
        body, kind = kwargs["body"], kwargs.get("type")
        template = body.get("spec", {}).get("template", {}).get("metadata", {})
        labels = dict(template.get("labels") or {})
        key = str(body.get("metadata", {}).get("uid"))
        with seen_lock:
            before = labels_seen.get(key)
            if kind == "DELETED":
                labels_seen.pop(key, None)
            else:
                labels_seen[key] = labels
        if kind is None or (kind != "DELETED" and before == labels):
            # the initial listing (resume handlers cover it), or an annotation (ours: the
            # mount) or the status changed: the selection cannot have changed
            return

        def run() -> None:
            for fd_namespace, fd_name, fd_kind, selector in list_names(kwargs["namespace"]):
                concerned = any(
                    all(seen.get(k) == v for k, v in selector.items())
                    for seen in (labels, before or {})
                )
                if fd_kind == body.get("kind") and concerned:
                    reconciler.reconcile(fd_namespace, fd_name)

        _pass(run, retry=False)

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
