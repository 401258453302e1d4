"""The node-cache mount on a workload's pod template, reference-counted and reversible.

``--source cache`` EnvoyFilters read the module from ``/var/local/lib/wasme-cache`` on the node,
so the sidecar needs that directory: Istio's ``sidecar.istio.io/userVolume`` and
``userVolumeMount`` pod-template annotations (JSON lists) say so. wasmkit adds its entry to what
the user already has, records on the workload which filters use the mount and what the two
annotations were before wasmkit touched them, and on the last filter's removal puts them back
exactly (or, where the user changed them meanwhile, keeps the user's entries without
wasmkit's). Removing one filter never removes a mount another still uses.

Pure functions: :func:`add_user` / :func:`remove_user` compute the annotations wasmkit wants to
own (server-side apply removes the ones it stops sending).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wasmkit.deploy.spec import CACHE_DIR, Workload
from wasmkit.errors import UsageError

USER_VOLUME = "sidecar.istio.io/userVolume"
USER_VOLUME_MOUNT = "sidecar.istio.io/userVolumeMount"
MOUNT_KEYS = (USER_VOLUME, USER_VOLUME_MOUNT)
#: On the workload (not its pod template, so bookkeeping never restarts pods).
USERS_ANNOTATION = "wasmkit.dev/cache-users"
PREVIOUS_ANNOTATION = "wasmkit.dev/previous-annotations"

VOLUME_NAME = "cache-dir"
CACHE_VOLUME = {"name": VOLUME_NAME, "hostPath": {"path": CACHE_DIR}}
CACHE_MOUNT = {"mountPath": CACHE_DIR, "name": VOLUME_NAME}
#: What wasmkit adds to each annotation's JSON list.
ENTRIES = {USER_VOLUME: CACHE_VOLUME, USER_VOLUME_MOUNT: CACHE_MOUNT}


@dataclass(frozen=True)
class MountState:
    """The annotations wasmkit owns on one workload (empty mappings: it owns none)."""

    pod_annotations: Mapping[str, str]
    annotations: Mapping[str, str]

    @property
    def empty(self) -> bool:
        return not self.pod_annotations and not self.annotations


def users(workload: Workload) -> list[str]:
    raw = workload.annotations.get(USERS_ANNOTATION, "")
    return [u for u in raw.split(",") if u]


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _previous(workload: Workload) -> dict[str, str | None]:
    raw = workload.annotations.get(PREVIOUS_ANNOTATION)
    if raw is None:
        return {key: workload.pod_annotations.get(key) for key in MOUNT_KEYS}
    data = _json(raw)
    if not isinstance(data, dict):
        raise UsageError(
            f"{workload.ref} has a damaged {PREVIOUS_ANNOTATION} annotation",
            hint="restore the workload's sidecar.istio.io annotations by hand and remove the "
            f"wasmkit.dev/ annotations from {workload.ref}",
        )
    return {key: data.get(key) for key in MOUNT_KEYS}


def _merged(workload: Workload, key: str) -> str:
    """The annotation's JSON list with wasmkit's entry in it (appended once)."""
    raw = workload.pod_annotations.get(key)
    entries: list[Any] = []
    if raw:
        parsed = _json(raw)
        if not isinstance(parsed, list):
            raise UsageError(
                f"{workload.ref}'s pod annotation {key} is not a JSON list",
                hint="fix the annotation (Istio would refuse it too), then deploy again",
            )
        entries = parsed
    ours = ENTRIES[key]
    for entry in entries:
        if isinstance(entry, dict) and entry.get("name") == VOLUME_NAME:
            if entry != ours:
                raise UsageError(
                    f"{workload.ref} already has a sidecar volume named {VOLUME_NAME!r} "
                    f"in {key} that is not wasmkit's",
                    hint="rename that volume, or use --source http (no mount needed)",
                )
            return json.dumps(entries, separators=(",", ":"))
    return json.dumps([*entries, ours], separators=(",", ":"))


def add_user(workload: Workload, filter_id: str) -> MountState:
    """The annotations with ``filter_id`` using the cache mount."""
    previous = _previous(workload)
    names = users(workload)
    if filter_id not in names:
        names.append(filter_id)
    return MountState(
        pod_annotations={key: _merged(workload, key) for key in MOUNT_KEYS},
        annotations={
            USERS_ANNOTATION: ",".join(sorted(names)),
            PREVIOUS_ANNOTATION: json.dumps(previous, separators=(",", ":"), sort_keys=True),
        },
    )


def remove_user(workload: Workload, filter_id: str) -> MountState | None:
    """The annotations without ``filter_id``; None when wasmkit never mounted for it."""
    names = users(workload)
    if filter_id not in names:
        return None
    names.remove(filter_id)
    if names:
        return MountState(
            pod_annotations={key: workload.pod_annotations.get(key, "") for key in MOUNT_KEYS},
            annotations={
                USERS_ANNOTATION: ",".join(sorted(names)),
                PREVIOUS_ANNOTATION: workload.annotations[PREVIOUS_ANNOTATION],
            },
        )
    previous = _previous(workload)
    restored = {key: _restored(workload, key, previous[key]) for key in MOUNT_KEYS}
    return MountState(
        pod_annotations={k: v for k, v in restored.items() if v is not None}, annotations={}
    )


def _restored(workload: Workload, key: str, before: str | None) -> str | None:
    """The annotation once wasmkit's entry goes: exactly as it was before wasmkit came, unless
    the user changed its other entries meanwhile - then theirs, without wasmkit's (None: drop
    the annotation)."""
    current = _json(workload.pod_annotations.get(key) or "[]")
    if not isinstance(current, list):
        return before
    kept = [e for e in current if not (isinstance(e, dict) and e.get("name") == VOLUME_NAME)]
    if kept == (_json(before) if before else []):
        return before
    return json.dumps(kept, separators=(",", ":")) if kept else None


def workload_patch(workload: Workload, state: MountState) -> dict[str, Any]:
    """The server-side apply body for ``state`` on ``workload`` (only wasmkit's fields), bound
    to the version read: the values merge the user's own entries, so a workload changed
    meanwhile must be read again, not overwritten."""
    meta: dict[str, Any] = {"name": workload.name, "namespace": workload.namespace}
    if workload.resource_version:
        meta["resourceVersion"] = workload.resource_version
    if state.annotations:
        meta["annotations"] = dict(state.annotations)
    body: dict[str, Any] = {"apiVersion": "apps/v1", "kind": workload.kind.kind, "metadata": meta}
    if state.pod_annotations:
        body["spec"] = {"template": {"metadata": {"annotations": dict(state.pod_annotations)}}}
    return body
