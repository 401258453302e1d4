"""What the operator reads from the cluster, decided without it: which workloads a
FilterDeployment selects, which nodes run them, which nodes' caches hold an image, and the
status that follows. Pure functions over Kubernetes JSON, so they are tested without an API
server and the reconciler stays a short sequence of reads and writes.

The node cache reports through one Lease per node (``wasmkit-cache-<node>`` in the operator's
namespace): ``spec.holderIdentity`` is the node, the annotation ``wasme.io/held`` maps each image
(by digest) it holds to the module's sha256, ``wasme.io/failed`` maps images it could not pull to
the reason. A Lease is the current state, rewritten by its one writer; unlike Events it is never
best-effort, duplicated or left behind.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from wasmkit.errors import EnvironmentProblem
from wasmkit.operator.install import CACHE_NAME
from wasmkit.operator.node_cache import Report
from wasmkit.operator.spec import Condition, NodeStatus

HELD_ANNOTATION = "wasme.io/held"
FAILED_ANNOTATION = "wasme.io/failed"
MAX_REASON = 300


class ObjectMeta(TypedDict, total=False):
    name: str
    namespace: str
    labels: dict[str, str]
    annotations: dict[str, str]
    uid: str
    generation: int
    resourceVersion: str


class KubeObject(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: dict[str, Any]
    status: dict[str, Any]


def template_labels(workload: Mapping[str, Any]) -> dict[str, str]:
    labels = workload.get("spec", {}).get("template", {}).get("metadata", {}).get("labels")
    return dict(labels or {})


def selects(labels: Mapping[str, str], workload: Mapping[str, Any]) -> bool:
    """A workload is selected when its pod template carries every label (empty: all)."""
    have = template_labels(workload)
    return all(have.get(k) == v for k, v in labels.items())


def pod_selector(workload: Mapping[str, Any]) -> dict[str, str]:
    """The workload's ``spec.selector.matchLabels`` (what its Pods are found by)."""
    match = workload.get("spec", {}).get("selector", {}).get("matchLabels") or {}
    return dict(match) or template_labels(workload)


def nodes_of(workload: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> list[str]:
    """The nodes running Pods of ``workload`` (Pods matched by its selector), sorted."""
    selector = pod_selector(workload)
    nodes = set()
    for pod in pods:
        labels = pod.get("metadata", {}).get("labels") or {}
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            node = pod.get("spec", {}).get("nodeName")
            if node and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                nodes.add(str(node))
    return sorted(nodes)


def lease_body(node: str, report: Report, now: datetime | None = None) -> dict[str, Any]:
    """The Lease fields the cache on ``node`` writes (metadata name/namespace added by caller)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "metadata": {
            "annotations": {
                HELD_ANNOTATION: json.dumps(report.held, sort_keys=True),
                FAILED_ANNOTATION: json.dumps(report.failed, sort_keys=True),
            },
            "labels": {"app.kubernetes.io/name": CACHE_NAME},
        },
        "spec": {"holderIdentity": node, "renewTime": stamp},
    }


@dataclass(frozen=True)
class NodeReport:
    held: Mapping[str, str]
    failed: Mapping[str, str]


def read_leases(leases: Iterable[Mapping[str, Any]]) -> dict[str, NodeReport]:
    """node -> what its cache reports; unreadable annotations count as holding nothing."""
    out = {}
    for lease in leases:
        node = lease.get("spec", {}).get("holderIdentity")
        if not node:
            continue
        annotations = lease.get("metadata", {}).get("annotations") or {}
        out[str(node)] = NodeReport(
            _json_map(annotations.get(HELD_ANNOTATION)),
            _json_map(annotations.get(FAILED_ANNOTATION)),
        )
    return out


def _json_map(text: str | None) -> dict[str, str]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def node_statuses(
    nodes: Iterable[str], image: str, reports: Mapping[str, NodeReport]
) -> list[NodeStatus]:
    out = []
    for node in sorted(set(nodes)):
        report = reports.get(node)
        if report is None:
            out.append(NodeStatus(name=node, ready=False, reason="no node cache reports yet"))
        elif image in report.held:
            out.append(NodeStatus(name=node, ready=True))
        elif image in report.failed:
            reason = f"pull failed: {report.failed[image]}"[:MAX_REASON]
            out.append(NodeStatus(name=node, ready=False, reason=reason))
        else:
            out.append(NodeStatus(name=node, ready=False, reason="pulling"))
    return out


def waiting_reason(nodes: Sequence[NodeStatus]) -> str:
    missing = [n for n in nodes if not n.ready]
    first = missing[0]
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    return f"waiting for the node cache on {first.name}{more}: {first.reason}"[:MAX_REASON]


def condition(
    type_: str,
    status: bool,
    reason: str,
    message: str,
    previous: Iterable[Mapping[str, Any]] = (),
    now: datetime | None = None,
) -> Condition:
    """A condition whose ``lastTransitionTime`` moves only when its status changes."""
    value = "True" if status else "False"
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for old in previous:
        if old.get("type") == type_ and old.get("status") == value:
            stamp = str(old.get("lastTransitionTime") or stamp)
    return Condition(
        type=type_,
        status=value,
        reason=reason,
        message=message[:MAX_REASON],
        last_transition_time=stamp,
    )


class IstioReleases:
    """The release of the istiod in a namespace (a resource's ``istioNamespace``, as wasme
    used it), read at most once per ``ttl`` seconds per namespace."""

    def __init__(
        self, ask: Callable[[str], str | None], ttl: float, clock: Callable[[], float]
    ) -> None:
        self._ask, self._ttl, self._clock = ask, ttl, clock
        self._known: dict[str, tuple[float, str]] = {}  # namespace -> (read at, release)
        self._lock = threading.Lock()

    def get(self, namespace: str) -> str:
        now = self._clock()
        with self._lock:
            known = self._known.get(namespace)
        if known and now - known[0] < self._ttl:
            return known[1]
        running = self._ask(namespace)
        if running is None:
            raise EnvironmentProblem(
                f"found no istiod Deployment (label app=istiod) with a versioned image in "
                f"namespace {namespace} (deployment.istio.istioNamespace)",
                hint="set deployment.istio.istioNamespace to where istiod runs, or run the "
                "operator with --istio-version",
            )
        with self._lock:
            self._known[namespace] = (now, running)
        return running
