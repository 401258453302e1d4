"""Apply a spec to a cluster, and take it away again: ``wasmkit deploy istio`` / ``undeploy``.

Everything is server-side apply with field manager ``wasmkit``: each object carries only the
fields wasmkit owns, so applying the same spec twice changes nothing, and fields wasmkit stops
sending disappear. What a run did is a list of :class:`Change` (created, changed, unchanged,
deleted), decided from the objects listed before and the ``resourceVersion`` after.

Request budget (the benchmark checks it): four constant requests (istiod's version, the
workloads, the id's EnvoyFilters and WasmPlugins), then per workload one apply of
its EnvoyFilter and, for ``--source cache``, one apply of its mount annotations - and none of
either when nothing would change. The mounts are written before the filters that read through
them (and released after), so a run cut short in between leaves no filter without its file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from wasmkit.abi import find_platform
from wasmkit.deploy import mounts
from wasmkit.deploy.inputs import check_name
from wasmkit.deploy.render import render_objects
from wasmkit.deploy.spec import (
    FIELD_MANAGER,
    FILTER_ID_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    WORKLOAD_ANNOTATION,
    Api,
    DeploymentSpec,
    DeployRequest,
    ImageInfo,
    ModuleSource,
    Workload,
    WorkloadKind,
    resolve_spec,
)
from wasmkit.deploy.validation import istio_check
from wasmkit.errors import (
    EnvironmentProblem,
    KubeApiMissing,
    KubeConflict,
    KubeForbidden,
    NoMatchingWorkload,
)
from wasmkit.kube import KubeClient, KubeObject

log = logging.getLogger(__name__)

Action = Literal["created", "changed", "unchanged", "deleted"]
ISTIO_NAMESPACE = "istio-system"
_FILTER_KINDS = ("EnvoyFilter", "WasmPlugin")


@dataclass(frozen=True)
class Change:
    action: Action
    kind: str
    name: str
    namespace: str

    def __str__(self) -> str:
        return f"{self.action}: {self.kind.lower()}/{self.name} -n {self.namespace}"


@dataclass(frozen=True)
class DeployResult:
    """What a deploy or undeploy did (or, with ``dry_run``, would do)."""

    changes: tuple[Change, ...]
    objects: tuple[dict[str, Any], ...] = ()  # the rendered filter objects
    spec: DeploymentSpec | None = None
    dry_run: bool = False
    requests: int = 0  # API requests made
    notes: tuple[str, ...] = ()
    #: The workload changes applied (server-side apply bodies: the cache mount annotations).
    workload_patches: tuple[dict[str, Any], ...] = ()

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)


def workload_from(obj: Mapping[str, Any], kind: WorkloadKind) -> Workload:
    meta = obj["metadata"]
    template = obj.get("spec", {}).get("template", {}).get("metadata", {})
    return Workload(
        kind=kind,
        name=meta["name"],
        namespace=meta["namespace"],
        pod_labels=dict(template.get("labels") or {}),
        pod_annotations=dict(template.get("annotations") or {}),
        annotations=dict(meta.get("annotations") or {}),
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def list_workloads(kube: KubeClient, kind: WorkloadKind, namespace: str) -> list[Workload]:
    return [workload_from(o, kind) for o in kube.list(kind.kind, namespace)]


def matching(workloads: Sequence[Workload], labels: Mapping[str, str]) -> list[Workload]:
    return [w for w in workloads if all(w.pod_labels.get(k) == v for k, v in labels.items())]


def cluster_istio_version(kube: KubeClient, namespace: str = ISTIO_NAMESPACE) -> str | None:
    """The running istiod's version, from its Deployment's image tag in ``namespace`` (None:
    no istiod found, or not allowed to look)."""
    try:
        istiods = kube.list("Deployment", namespace, label_selector="app=istiod")
    except KubeForbidden:
        return None
    for obj in istiods:
        for container in (
            obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            image = str(container.get("image", ""))
            tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
            if tag and tag[0].isdigit():
                return tag
    return None


def _no_istiod() -> EnvironmentProblem:
    return EnvironmentProblem(
        f"found no istiod Deployment (label app=istiod) with a versioned image in "
        f"{ISTIO_NAMESPACE}",
        hint="pass --istio-version (e.g. --istio-version 1.29), or install Istio first",
    )


def _owned(kube: KubeClient, kind: str, namespace: str, filter_id: str) -> list[KubeObject]:
    selector = f"{MANAGED_BY_LABEL}={MANAGED_BY},{FILTER_ID_LABEL}={filter_id}"
    try:
        return kube.list(kind, namespace, label_selector=selector)
    except KubeApiMissing:
        if kind == "WasmPlugin":  # Istio before 1.12: nothing of that kind can exist
            return []
        raise


def _apply(
    kube: KubeClient, obj: Mapping[str, Any], before: KubeObject | None, dry_run: bool
) -> Change:
    after = kube.apply(obj, field_manager=FIELD_MANAGER, dry_run=dry_run)
    meta = obj["metadata"]
    if before is None:
        action: Action = "created"
    elif _content(after) == _content(before):  # resourceVersion: not under --dry-run
        action = "unchanged"
    else:
        action = "changed"
    return Change(action, str(obj["kind"]), meta["name"], meta["namespace"])


def _content(obj: Mapping[str, Any]) -> tuple[Any, ...]:
    meta = obj.get("metadata", {})
    return (obj.get("spec"), meta.get("labels"), meta.get("annotations"))


#: Tries of a mount write whose workload changed between read and write (re-read each time).
MOUNT_TRIES = 5
Want = Callable[[Workload], "mounts.MountState | None"]


def _mount_change(
    kube: KubeClient,
    workload: Workload,
    want: Want,
    dry_run: bool,
    applied: list[dict[str, Any]],
) -> Change:
    """Apply ``want(workload)``'s mount annotations onto the version read; when the workload
    changed meanwhile (409), read it again and recompute (the user's entries are merged)."""
    for attempt in range(MOUNT_TRIES):
        state = want(workload)
        unchanged = Change("unchanged", workload.kind.kind, workload.name, workload.namespace)
        if state is None or state == _current_mounts(workload):
            return unchanged
        body = mounts.workload_patch(workload, state)
        try:
            kube.apply(body, field_manager=FIELD_MANAGER, dry_run=dry_run)
        except KubeConflict:
            if attempt == MOUNT_TRIES - 1:
                raise
            log.info("%s changed meanwhile; reading it again", workload.ref)
            fresh = kube.get(workload.kind.kind, workload.namespace, workload.name)
            if fresh is None:  # deleted meanwhile: nothing left to mount or restore
                return unchanged
            workload = workload_from(fresh, workload.kind)
            continue
        body["metadata"].pop("resourceVersion", None)  # what is printed or written to files
        applied.append(body)
        return Change("changed", workload.kind.kind, workload.name, workload.namespace)
    raise AssertionError("unreachable")  # pragma: no cover


def _current_mounts(workload: Workload) -> mounts.MountState:
    return mounts.MountState(
        {
            k: workload.pod_annotations[k]
            for k in mounts.MOUNT_KEYS
            if k in workload.pod_annotations
        },
        {
            k: workload.annotations[k]
            for k in (mounts.USERS_ANNOTATION, mounts.PREVIOUS_ANNOTATION)
            if k in workload.annotations
        },
    )


def deploy(
    kube: KubeClient,
    request: DeployRequest,
    image: ImageInfo,
    *,
    dry_run: bool = False,
    targets: Sequence[Workload] | None = None,
    keep: Sequence[Workload] = (),
    owner: Mapping[str, Any] | None = None,
    workloads: Sequence[Workload] | None = None,
    istiod: str | None = None,
) -> DeployResult:
    """Resolve ``request`` against the cluster's Istio and workloads, and apply it.

    The operator chooses the workloads itself (``targets``: those whose nodes hold the module;
    none is an answer, not an error); the objects of the workloads in ``keep`` stay as they are
    (still waiting for their nodes), and every object gets ``owner`` as its owner reference.
    A caller that has read them already passes ``workloads`` (every one of the kind in the
    namespace) and ``istiod`` (the running release): they are not asked for again.
    """
    start = kube.requests
    running = istiod or cluster_istio_version(kube)
    version = request.istio_version or running
    if version is None:
        raise _no_istiod()
    spec = resolve_spec(request, image, version)
    notes = spec.notes
    if running and find_platform("istio", running).version != spec.platform.version:
        notes += (f"the cluster runs istiod {running}, but objects are rendered for {version}",)
    if workloads is None:
        workloads = list_workloads(kube, spec.workload_kind, spec.namespace)
    if targets is None:
        targets = matching(workloads, spec.labels)
        if not targets:
            raise _no_match(spec, workloads)
    targets = list(targets)
    kept = {w.ref for w in keep}
    existing = {
        (o["kind"], o["metadata"]["name"]): o
        for kind in _FILTER_KINDS
        for o in _owned(kube, kind, spec.namespace, spec.id)
        if o["metadata"].get("annotations", {}).get(WORKLOAD_ANNOTATION) not in kept
    }
    objects = render_objects(spec, targets) if targets or spec.api is not Api.WASMPLUGIN else []
    if objects:
        notes += istio_check(objects, running or version)
    if owner is not None:
        for obj in objects:
            obj["metadata"]["ownerReferences"] = [dict(owner)]
    changes: list[Change] = []
    patches: list[dict[str, Any]] = []
    uses_cache = spec.api is Api.ENVOYFILTER and spec.source is ModuleSource.CACHE
    want: Want = partial(mounts.add_user if uses_cache else mounts.remove_user, filter_id=spec.id)
    # The mount goes on before any filter reads through it, and comes off only after the
    # filters no longer do: a pass cut short between the two leaves no filter without its file.
    mounted: list[Change] = []
    if uses_cache:
        mounted = [_mount_change(kube, w, want, dry_run, patches) for w in targets]
    for obj in objects:
        before = existing.pop((obj["kind"], obj["metadata"]["name"]), None)
        changes.append(_apply(kube, obj, before, dry_run))
    if not uses_cache:
        mounted = [_mount_change(kube, w, want, dry_run, patches) for w in targets]
    changes += mounted
    # What this id had before and no longer needs: other workloads, the other API.
    by_ref = {w.ref: w for w in workloads}
    for (kind, name), obj in existing.items():
        kube.delete(kind, spec.namespace, name, dry_run=dry_run)
        changes.append(Change("deleted", kind, name, spec.namespace))
        ref = obj["metadata"].get("annotations", {}).get(WORKLOAD_ANNOTATION, "")
        gone = by_ref.get(ref)
        if gone is not None and gone not in targets:
            release: Want = partial(mounts.remove_user, filter_id=spec.id)
            changes.append(_mount_change(kube, gone, release, dry_run, patches))
    return DeployResult(
        changes=tuple(c for c in changes if not (c.action == "unchanged" and _is_workload(c))),
        objects=tuple(objects),
        spec=spec,
        dry_run=dry_run,
        requests=kube.requests - start,
        notes=notes,
        workload_patches=tuple(patches),
    )


def _is_workload(change: Change) -> bool:
    return change.kind not in _FILTER_KINDS


def _no_match(spec: DeploymentSpec, workloads: Sequence[Workload]) -> NoMatchingWorkload:
    wanted = ",".join(f"{k}={v}" for k, v in spec.labels.items()) or "(any)"
    kind = spec.workload_kind.value
    if workloads:
        shown = "; ".join(
            f"{w.name} ({','.join(f'{k}={v}' for k, v in w.pod_labels.items())})"
            for w in workloads[:10]
        )
        return NoMatchingWorkload(
            f"no {kind} in namespace {spec.namespace} has pod labels {wanted}",
            hint=f"the {kind}s there are: {shown}; fix -l, or pick --workload-kind",
        )
    return NoMatchingWorkload(
        f"no {kind} in namespace {spec.namespace} has pod labels {wanted}: there is no {kind} "
        "there at all",
        hint="check -n/--namespace and --workload-kind (deployment, daemonset, statefulset)",
    )


def undeploy(
    kube: KubeClient, filter_id: str, namespace: str, *, dry_run: bool = False
) -> DeployResult:
    """Remove filter ``filter_id`` from ``namespace``: its objects, and its cache mounts (a
    mount another filter still uses stays; the last one restores the annotations)."""
    check_name(filter_id)
    start = kube.requests
    changes: list[Change] = []
    patches: list[dict[str, Any]] = []
    for kind in _FILTER_KINDS:
        for obj in _owned(kube, kind, namespace, filter_id):
            name = obj["metadata"]["name"]
            kube.delete(kind, namespace, name, dry_run=dry_run)
            changes.append(Change("deleted", kind, name, namespace))
    for kind in WorkloadKind:
        release: Want = partial(mounts.remove_user, filter_id=filter_id)
        for workload in list_workloads(kube, kind, namespace):
            if mounts.remove_user(workload, filter_id) is not None:
                changes.append(_mount_change(kube, workload, release, dry_run, patches))
    return DeployResult(changes=tuple(changes), dry_run=dry_run, requests=kube.requests - start)
