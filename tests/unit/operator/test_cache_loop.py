"""The cache loop's safety rule: when the cluster cannot be read, nothing is evicted."""

from __future__ import annotations

from pathlib import Path

from wasmkit.errors import ServiceUnavailable
from wasmkit.oci import Credential
from wasmkit.operator.cache_server import CacheLoop
from wasmkit.operator.node_cache import NodeCache, Report, Want


class Unreachable:
    def __init__(self) -> None:
        self.reports: list[Report] = []

    def wanted(self) -> list[Want]:
        raise ServiceUnavailable("the Kubernetes API server does not answer")

    def credential(self, want: Want) -> Credential | None:
        return None

    def report(self, node: str, report: Report) -> None:
        self.reports.append(report)


def test_an_unreadable_cluster_evicts_nothing_and_reports_nothing(tmp_path: Path) -> None:
    cache = NodeCache(tmp_path / "modules", tmp_path / "state")
    kept = tmp_path / "modules" / ("a" * 64)
    kept.write_bytes(b"\0asm\1\0\0\0")
    cluster = Unreachable()
    assert CacheLoop(cache, cluster, "node-a").step() is None
    assert kept.exists()
    assert cluster.reports == []
