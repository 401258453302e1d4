"""Selection, nodes, cache readiness and conditions, decided from Kubernetes JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wasmkit.operator.node_cache import Report
from wasmkit.operator.observe import (
    condition,
    lease_body,
    node_statuses,
    nodes_of,
    read_leases,
    selects,
    waiting_reason,
)

IMAGE = "reg/f@sha256:" + "a" * 64


def _workload(labels: dict[str, str], selector: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "spec": {
            "selector": {"matchLabels": selector or labels},
            "template": {"metadata": {"labels": labels}},
        }
    }


def _pod(labels: dict[str, str], node: str, phase: str = "Running") -> dict[str, Any]:
    return {"metadata": {"labels": labels}, "spec": {"nodeName": node}, "status": {"phase": phase}}


def test_selection_is_by_every_label_of_the_pod_template() -> None:
    details = _workload({"app": "details", "version": "v1"})
    assert selects({"app": "details"}, details)
    assert not selects({"app": "details", "version": "v2"}, details)
    assert selects({}, details)


def test_nodes_are_those_of_live_pods_matched_by_the_selector() -> None:
    details = _workload({"app": "details", "extra": "x"}, selector={"app": "details"})
    pods = [
        _pod({"app": "details"}, "node-b"),
        _pod({"app": "details"}, "node-a"),
        _pod({"app": "details"}, "node-c", phase="Succeeded"),
        _pod({"app": "reviews"}, "node-d"),
        {"metadata": {"labels": {"app": "details"}}, "spec": {}},  # not scheduled yet
    ]
    assert nodes_of(details, pods) == ["node-a", "node-b"]


def test_a_node_is_ready_only_when_its_lease_holds_the_image() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    leases = [
        lease_body("node-a", Report({IMAGE: "f" * 64}, {}), now),
        lease_body("node-b", Report({}, {IMAGE: "unauthorized"}), now),
        lease_body("node-c", Report({}, {}), now),
        {
            "metadata": {"annotations": {"wasme.io/held": "not json"}},
            "spec": {"holderIdentity": "node-e"},
        },
    ]
    reports = read_leases(leases)
    statuses = node_statuses(["node-a", "node-b", "node-c", "node-d", "node-e"], IMAGE, reports)
    assert [(s.name, s.ready) for s in statuses] == [
        ("node-a", True),
        ("node-b", False),
        ("node-c", False),
        ("node-d", False),
        ("node-e", False),
    ]
    assert "unauthorized" in statuses[1].reason
    assert statuses[3].reason == "no node cache reports yet"
    assert waiting_reason(statuses).startswith("waiting for the node cache on node-b and 3 more")


def test_a_condition_keeps_its_transition_time_until_its_status_changes() -> None:
    then = datetime(2026, 1, 1, tzinfo=UTC)
    later = datetime(2026, 1, 2, tzinfo=UTC)
    first = condition("Ready", True, "Succeeded", "ok", now=then)
    old = [first.model_dump(by_alias=True)]
    assert (
        condition("Ready", True, "Succeeded", "ok", old, now=later).last_transition_time
        == "2026-01-01T00:00:00Z"
    )
    assert (
        condition("Ready", False, "Pending", "x", old, now=later).last_transition_time
        == "2026-01-02T00:00:00Z"
    )
