"""Reconcile one FilterDeployment: level-triggered, safe to run again at any moment.

Each pass reads the world and makes it so, in this order:

1. resolve the image (tag -> digest, pull Secret honoured; the tag again after ``resync``) and
   learn its module and root id; a missing, unauthorized or non-filter image fails the resource
   with the reason and patches nothing;
2. name that image in the status (``status.image``): this is how the node caches are told to
   hold it;
3. for each selected workload, read the nodes its Pods run on and the caches' Leases; a workload
   is deployed (the mount, then Istio objects with owner references; server-side applied) once
   every one of its nodes holds the module; the others stay Pending with the reason and are
   retried with backoff, still running what they ran;
4. clean workloads that stopped matching, and write the status (per workload, per node,
   conditions ``Ready`` and ``Degraded``).

Writes are server-side applies of deterministic names, so a pass interrupted anywhere and run
again (operator restart) converges without duplicates. Deleting restores everything
(:meth:`Reconciler.cleanup`, run from the finalizer).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from wasmkit._validation import problems_of
from wasmkit.deploy import (
    Api,
    CacheService,
    Config,
    DeploymentSpec,
    DeployRequest,
    ImageInfo,
    ModuleSource,
    PatchContext,
    Workload,
    WorkloadKind,
    parse_config,
    resolve_spec,
)
from wasmkit.deploy.apply import workload_from
from wasmkit.errors import EnvironmentProblem, WasmkitError
from wasmkit.oci import Credential, RegistryOptions, parse
from wasmkit.operator.images import Pinned
from wasmkit.operator.observe import (
    IstioReleases,
    condition,
    node_statuses,
    nodes_of,
    read_leases,
    selects,
    waiting_reason,
)
from wasmkit.operator.spec import (
    Delivery,
    FilterDeploymentSpec,
    FilterDeploymentStatus,
    NodeStatus,
    WorkloadState,
    WorkloadStatus,
)

log = logging.getLogger(__name__)

MAX_BACKOFF = 30.0


class Cluster(Protocol):
    """The reads and writes a pass needs (:class:`wasmkit.operator.cluster.OperatorCluster`)."""

    def filter_deployment(self, namespace: str, name: str) -> dict[str, Any] | None: ...
    def workloads(self, kind: str, namespace: str) -> list[dict[str, Any]]: ...
    def pods(self, namespace: str) -> list[dict[str, Any]]: ...
    def cache_leases(self) -> list[dict[str, Any]]: ...
    def pull_credential(self, namespace: str, secret: str, registry: str) -> Credential | None: ...
    def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None: ...
    def istio_version(self, namespace: str) -> str | None:
        """The release of the istiod in ``namespace`` (None: none there)."""


class Deployer(Protocol):
    """The deploy engine's apply and undeploy (:mod:`wasmkit.deploy.apply`)."""

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
        """Deploy to exactly ``targets``; objects of ``keep`` stay as they are; everything
        else this filter id had is removed (its mounts restored). ``listed``: every workload
        of the kind in the namespace as this pass read them, ``istiod``: the Istio release
        (neither is read again)."""

    def remove(self, filter_id: str, namespace: str) -> None: ...


class Images(Protocol):
    """Image facts by digest (:class:`wasmkit.operator.images.ImageSource`)."""

    def get(
        self, image: str, options: RegistryOptions, credential: Credential | None
    ) -> Pinned: ...


@dataclass(frozen=True)
class OperatorConfig:
    namespace: str = "wasmkit-system"  # where the caches' Leases are
    #: Empty: each resource's ``deployment.istio.istioNamespace`` istiod's (asked again after
    #: ``resync``); set (``--istio-version``): this release for every resource.
    istio_version: str = ""
    cache_service: CacheService = field(default_factory=CacheService)
    resync: float = 60.0
    #: A workload waiting longer than this for its nodes' caches makes the resource Degraded
    #: (it stays Pending and keeps being retried).
    cache_timeout: float = 120.0


@dataclass(frozen=True)
class Outcome:
    state: WorkloadState | None  # None: the resource is gone
    reason: str = ""
    retry_after: float | None = None


_DELIVERY = {
    Delivery.CACHE: (Api.ENVOYFILTER, ModuleSource.CACHE),
    Delivery.HTTP: (Api.ENVOYFILTER, ModuleSource.HTTP),
    Delivery.WASMPLUGIN: (Api.WASMPLUGIN, ModuleSource.HTTP),
}


def owner_reference(fd: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": fd["apiVersion"],
        "kind": fd["kind"],
        "name": fd["metadata"]["name"],
        "uid": fd["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": False,
    }


_ONE_PLUGIN = "waiting for the other workloads' nodes (one WasmPlugin selects them all)"


@dataclass(frozen=True)
class _Failed:
    """Why a pass stopped before deploying anything; ``retry``: Pending, else Failed."""

    reason: str
    retry: bool = False


class Reconciler:
    def __init__(
        self,
        cluster: Cluster,
        deployer: Deployer,
        images: Images,
        config: OperatorConfig,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.cluster, self.deployer, self.images, self.config = cluster, deployer, images, config
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._attempts: dict[tuple[str, str], int] = {}
        self._guard = threading.Lock()
        self._clock = clock
        self._waiting_since: dict[tuple[str, str], float] = {}
        self._istiods = IstioReleases(cluster.istio_version, config.resync, clock)
        #: Passes run so far (the benchmark divides API requests by it).
        self.passes = 0

    @contextmanager
    def _exclusive(self, key: tuple[str, str]) -> Iterator[None]:
        """One pass per resource at a time (kopf handlers and drift watchers both call in)."""
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield

    def _backoff(self, key: tuple[str, str], pending: bool) -> float | None:
        if not pending:
            with self._guard:
                self._attempts.pop(key, None)
            return None
        with self._guard:
            n = self._attempts[key] = self._attempts.get(key, 0) + 1
        return float(min(2 ** (n - 1), MAX_BACKOFF))

    def _waited(self, key: tuple[str, str], pending: bool) -> float:
        """Seconds ``key`` has been waiting for caches (0 once it is not)."""
        now = self._clock()
        with self._guard:
            if not pending:
                self._waiting_since.pop(key, None)
                return 0.0
            return now - self._waiting_since.setdefault(key, now)

    def pending(self) -> list[tuple[str, str]]:
        """The resources whose last pass was Pending (waiting for caches or the registry)."""
        with self._guard:
            return sorted(self._attempts)

    # -- the pass ------------------------------------------------------------------------------

    def reconcile(self, namespace: str, name: str) -> Outcome:
        key = (namespace, name)
        with self._exclusive(key):
            with self._guard:
                self.passes += 1
            fd = self.cluster.filter_deployment(namespace, name)
            if fd is None or fd["metadata"].get("deletionTimestamp"):
                return Outcome(None)
            old = fd.get("status") or {}
            spec = self._spec(fd)
            resolved = spec if isinstance(spec, _Failed) else self._resolve(fd, spec)
            if isinstance(resolved, _Failed):
                failure = resolved
                state = WorkloadState.PENDING if failure.retry else WorkloadState.FAILED
                self._write(fd, self._failed_status(fd, old, state, failure.reason))
                retry = self._backoff(key, failure.retry)
                return Outcome(state, failure.reason, retry)
            assert not isinstance(spec, _Failed)
            pinned, request, deployment = resolved
            status, pending = self._deploy(fd, spec, pinned, request, deployment, old)
            self._write(fd, status)
            state = WorkloadState.PENDING if pending else WorkloadState.SUCCEEDED
            ready = next(c for c in status["conditions"] if c["type"] == "Ready")
            return Outcome(state, ready["message"], self._backoff(key, pending))

    def _spec(self, fd: Mapping[str, Any]) -> FilterDeploymentSpec | _Failed:
        try:
            return FilterDeploymentSpec.model_validate(fd.get("spec") or {})
        except ValidationError as exc:
            return _Failed("invalid spec: " + "; ".join(problems_of(exc, ["spec"])))

    def _resolve(
        self, fd: Mapping[str, Any], spec: FilterDeploymentSpec
    ) -> tuple[Pinned, DeployRequest, DeploymentSpec] | _Failed:
        meta = fd["metadata"]
        pull = spec.filter.image_pull_options
        options = RegistryOptions(plain_http=pull.plain_http, insecure=pull.insecure_skip_verify)
        try:
            credential = None
            if pull.pull_secret:
                registry = parse(spec.filter.image).registry
                credential = self.cluster.pull_credential(
                    meta["namespace"], pull.pull_secret, registry
                )
            pinned = self.images.get(spec.filter.image, options, credential)
            version = self.config.istio_version or self._istiods.get(
                spec.deployment.istio.istio_namespace
            )
            api, source = _DELIVERY[spec.deployment.istio.delivery]
            request = DeployRequest(
                image=str(pinned.image),
                id=spec.filter_id(meta["name"], meta["namespace"]),
                namespace=meta["namespace"],
                config=_config(spec.filter.config),
                labels=dict(spec.deployment.istio.labels),
                workload_kind=WorkloadKind.parse(spec.deployment.istio.kind.value),
                patch_context=PatchContext.parse(spec.filter.patch_context.value),
                api=api,
                source=source,
                root_id=spec.filter.root_id,
                cache_service=self.config.cache_service,
                istio_version=version,
            )
            return pinned, request, resolve_spec(request, pinned.info, version)
        except EnvironmentProblem as exc:  # registry down, bytes altered, RBAC, a CRD missing
            return _Failed(str(exc), retry=True)
        except WasmkitError as exc:  # not found, unauthorized, not a filter, bad id, ABI
            return _Failed(str(exc))

    def _deploy(
        self,
        fd: Mapping[str, Any],
        spec: FilterDeploymentSpec,
        pinned: Pinned,
        request: DeployRequest,
        deployment: DeploymentSpec,
        old: Mapping[str, Any],
    ) -> tuple[dict[str, Any], bool]:
        ns = fd["metadata"]["namespace"]
        image = str(pinned.image)
        kind = deployment.workload_kind
        every = self.cluster.workloads(spec.deployment.istio.kind.value, ns)
        selected = [w for w in every if selects(spec.deployment.istio.labels, w)]
        pods = self.cluster.pods(ns) if selected else []
        reports = read_leases(self.cluster.cache_leases()) if selected else {}
        ready: list[Workload] = []
        waiting: list[Workload] = []
        statuses: list[WorkloadStatus] = []
        all_nodes: dict[str, NodeStatus] = {}
        for obj in selected:
            workload = workload_from(obj, kind)
            nodes = node_statuses(nodes_of(obj, pods), image, reports)
            all_nodes.update({n.name: n for n in nodes})
            if all(n.ready for n in nodes):
                ready.append(workload)
                statuses.append(_workload_status(workload, WorkloadState.SUCCEEDED, ""))
            else:
                waiting.append(workload)
                reason = waiting_reason(nodes)
                statuses.append(_workload_status(workload, WorkloadState.PENDING, reason))
        if deployment.api is Api.WASMPLUGIN and waiting:
            # one WasmPlugin selects every workload: it waits for all of their nodes
            statuses = [
                s
                if s.state is WorkloadState.PENDING
                else s.model_copy(update={"state": WorkloadState.PENDING, "reason": _ONE_PLUGIN})
                for s in statuses
            ]
        else:
            listed = [workload_from(obj, kind) for obj in every]
            owner = owner_reference(fd)
            istiod = request.istio_version or ""
            self.deployer.apply(request, pinned.info, ready, waiting, owner, listed, istiod)
        pending = any(s.state is WorkloadState.PENDING for s in statuses)
        applied = image if not pending else str(old.get("appliedImage") or "")
        previous = old.get("conditions") or []
        if pending:
            first = next(s for s in statuses if s.state is WorkloadState.PENDING)
            message = f"{first.kind}/{first.name}: {first.reason}"
            ready_c = condition("Ready", False, "Pending", message, previous)
        else:
            message = (
                f"{len(statuses)} workload(s) run {image}" if statuses else "no workload matches"
            )
            ready_c = condition("Ready", True, "Succeeded", message, previous)
        failing = [n for n in all_nodes.values() if n.reason.startswith("pull failed")]
        waited = self._waited((fd["metadata"]["namespace"], fd["metadata"]["name"]), pending)
        if failing:
            degraded = condition(
                "Degraded",
                True,
                "CachePullFailed",
                f"{failing[0].name}: {failing[0].reason}",
                previous,
            )
        elif waited > self.config.cache_timeout:
            degraded = condition(
                "Degraded",
                True,
                "CacheTimeout",
                f"waiting {waited:.0f} s (over {self.config.cache_timeout:g} s): {message}",
                previous,
            )
        else:
            degraded = condition("Degraded", False, "AsExpected", "", previous)
        status = FilterDeploymentStatus(
            observed_generation=int(fd["metadata"].get("generation") or 0),
            image=image,
            digest=pinned.image.digest or "",
            module_sha256=pinned.info.module_sha256,
            applied_image=applied,
            root_id=deployment.root_id,
            workloads=statuses,
            nodes=sorted(all_nodes.values(), key=lambda n: n.name),
            conditions=[ready_c, degraded],
        )
        return status.wire(), pending

    def _failed_status(
        self, fd: Mapping[str, Any], old: Mapping[str, Any], state: WorkloadState, reason: str
    ) -> dict[str, Any]:
        previous = old.get("conditions") or []
        wire = FilterDeploymentStatus.model_validate(_known(old)).wire()
        wire["observedGeneration"] = int(fd["metadata"].get("generation") or 0)
        wire["workloads"] = [
            {**w, "state": state.value, "reason": reason[:300]} for w in wire["workloads"]
        ]
        wire["conditions"] = [
            condition("Ready", False, state.value, reason, previous).model_dump(by_alias=True),
            condition(
                "Degraded", state is WorkloadState.FAILED, state.value, reason, previous
            ).model_dump(by_alias=True),
        ]
        return wire

    def _write(self, fd: Mapping[str, Any], status: dict[str, Any]) -> None:
        if _same(fd.get("status") or {}, status):
            return
        meta = fd["metadata"]
        self.cluster.write_status(meta["namespace"], meta["name"], status)

    # -- deletion ------------------------------------------------------------------------------

    def cleanup(self, fd: Mapping[str, Any]) -> None:
        """Remove every object of the resource and restore its workloads (finalizer)."""
        meta = fd["metadata"]
        with self._exclusive((meta["namespace"], meta["name"])):
            try:
                spec = FilterDeploymentSpec.model_validate(fd.get("spec") or {})
                filter_id = spec.filter_id(meta["name"], meta["namespace"])
            except ValidationError:
                return  # never valid: nothing was ever deployed for it
            self.deployer.remove(filter_id, meta["namespace"])
            with self._guard:
                self._attempts.pop((meta["namespace"], meta["name"]), None)


def _config(text: str) -> Config:
    """A mapping (JSON/YAML) becomes structured, as ``--config`` does; ``@...`` is NOT a file
    here: a resource never decides what the operator reads from its own disk."""
    return Config(text=text) if text.startswith("@") else parse_config(text)


def _workload_status(workload: Workload, state: WorkloadState, reason: str) -> WorkloadStatus:
    return WorkloadStatus(kind=workload.kind.kind, name=workload.name, state=state, reason=reason)


def _known(status: Mapping[str, Any]) -> dict[str, Any]:
    fields = {f.alias or n for n, f in FilterDeploymentStatus.model_fields.items()}
    try:
        FilterDeploymentStatus.model_validate({k: v for k, v in status.items() if k in fields})
    except ValidationError:
        return {}
    return {k: v for k, v in status.items() if k in fields}


def _same(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    return _known(old) == new or FilterDeploymentStatus.model_validate(_known(old)).wire() == new
