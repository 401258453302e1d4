"""The cache mount: merged into the user's annotations, reference-counted, restored exactly."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from tests.unit.deploy.conftest import DETAILS
from wasmkit.deploy import Workload
from wasmkit.deploy.mounts import (
    CACHE_MOUNT,
    CACHE_VOLUME,
    PREVIOUS_ANNOTATION,
    USER_VOLUME,
    USER_VOLUME_MOUNT,
    USERS_ANNOTATION,
    MountState,
    add_user,
    remove_user,
    workload_patch,
)
from wasmkit.errors import UsageError

THEIRS = {
    USER_VOLUME: '[{"name":"tmp-dir","emptyDir":{}}]',
    USER_VOLUME_MOUNT: '[{"mountPath":"/tmp","name":"tmp-dir"}]',
    "other": "kept",
}


def _applied(workload: Workload, state: MountState) -> Workload:
    """What server-side apply leaves: wasmkit's keys replaced, keys it stops sending dropped."""
    owned_pod = {USER_VOLUME, USER_VOLUME_MOUNT}
    pod = {k: v for k, v in workload.pod_annotations.items() if k not in owned_pod}
    own = {k: v for k, v in workload.annotations.items() if not k.startswith("wasmkit.dev/")}
    return replace(
        workload,
        pod_annotations={**pod, **state.pod_annotations},
        annotations={**own, **state.annotations},
    )


def test_the_mount_is_added_to_the_users_own_volumes_and_restored_exactly() -> None:
    before = replace(DETAILS, pod_annotations=THEIRS)
    after = _applied(before, add_user(before, "a"))
    assert json.loads(after.pod_annotations[USER_VOLUME]) == [
        {"name": "tmp-dir", "emptyDir": {}},
        CACHE_VOLUME,
    ]
    assert json.loads(after.pod_annotations[USER_VOLUME_MOUNT])[-1] == CACHE_MOUNT
    state = remove_user(after, "a")
    assert state is not None
    restored = _applied(after, state)
    assert restored.pod_annotations == THEIRS and restored.annotations == {}


def test_a_shared_mount_stays_while_another_filter_uses_it() -> None:
    one = _applied(DETAILS, add_user(DETAILS, "a"))
    two = _applied(one, add_user(one, "b"))
    assert two.annotations[USERS_ANNOTATION] == "a,b"
    assert two.pod_annotations[USER_VOLUME] == one.pod_annotations[USER_VOLUME]  # added once
    state_a = remove_user(two, "a")
    assert state_a is not None
    left = _applied(two, state_a)
    assert left.annotations[USERS_ANNOTATION] == "b"
    assert json.loads(left.pod_annotations[USER_VOLUME]) == [CACHE_VOLUME]
    state_b = remove_user(left, "b")
    assert state_b is not None and state_b.empty
    assert _applied(left, state_b).pod_annotations == {}


def test_adding_twice_changes_nothing() -> None:
    one = _applied(DETAILS, add_user(DETAILS, "a"))
    assert add_user(one, "a") == MountState(
        {k: one.pod_annotations[k] for k in (USER_VOLUME, USER_VOLUME_MOUNT)},
        {k: one.annotations[k] for k in (USERS_ANNOTATION, PREVIOUS_ANNOTATION)},
    )
    assert remove_user(DETAILS, "a") is None


def test_a_foreign_volume_named_like_ours_or_a_broken_annotation_is_refused() -> None:
    clash = replace(DETAILS, pod_annotations={USER_VOLUME: '[{"name":"cache-dir","emptyDir":{}}]'})
    with pytest.raises(UsageError, match="not wasmkit's"):
        add_user(clash, "a")
    broken = replace(DETAILS, pod_annotations={USER_VOLUME: "{nope"})
    with pytest.raises(UsageError, match="not a JSON list"):
        add_user(broken, "a")


def test_the_patch_names_only_wasmkits_fields() -> None:
    body = workload_patch(DETAILS, add_user(DETAILS, "a"))
    assert body["kind"] == "Deployment" and body["metadata"]["name"] == "details-v1"
    assert set(body["spec"]["template"]["metadata"]["annotations"]) == {
        USER_VOLUME,
        USER_VOLUME_MOUNT,
    }
    assert set(body["metadata"]["annotations"]) == {USERS_ANNOTATION, PREVIOUS_ANNOTATION}
    assert "spec" not in workload_patch(DETAILS, MountState({}, {}))


def _removed_after_the_user_added_a_volume(mounted: Workload) -> Workload:
    """The user adds volume 'new' while filter 'a' runs (kubectl edit); then 'a' goes."""
    volumes = [*json.loads(mounted.pod_annotations[USER_VOLUME]), {"name": "new", "emptyDir": {}}]
    edited = replace(
        mounted, pod_annotations={**mounted.pod_annotations, USER_VOLUME: json.dumps(volumes)}
    )
    state = remove_user(edited, "a")
    assert state is not None
    return _applied(edited, state)


def test_volumes_the_user_added_while_the_filter_ran_survive_its_removal() -> None:
    before = replace(DETAILS, pod_annotations=THEIRS)
    mounted = _applied(before, add_user(before, "a"))
    restored = _removed_after_the_user_added_a_volume(mounted)
    assert [v["name"] for v in json.loads(restored.pod_annotations[USER_VOLUME])] == [
        "tmp-dir",
        "new",
    ]
    # the annotation they did not touch comes back exactly as it was
    assert restored.pod_annotations[USER_VOLUME_MOUNT] == THEIRS[USER_VOLUME_MOUNT]
    assert restored.annotations == {}


def test_an_annotation_that_was_absent_goes_again_unless_the_user_filled_it_meanwhile() -> None:
    mounted = _applied(DETAILS, add_user(DETAILS, "a"))
    restored = _removed_after_the_user_added_a_volume(mounted)
    assert json.loads(restored.pod_annotations[USER_VOLUME]) == [{"name": "new", "emptyDir": {}}]
    assert USER_VOLUME_MOUNT not in restored.pod_annotations
