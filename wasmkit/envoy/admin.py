"""Envoy's admin API: readiness, listeners, version, stats, over plain HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
from typing import Any

from wasmkit.errors import ProcessFailed


class AdminClient:
    """Envoy's admin API at ``host:port`` (loopback; the process owner found the port)."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    def get(self, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def post(self, path: str, timeout: float = 5.0) -> int:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request("POST", path)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def json(self, path: str) -> Any:
        status, body = self.get(path)
        if status != 200:
            raise ProcessFailed(
                f"Envoy admin {path} answered {status}", command=[path], returncode=None
            )
        return json.loads(body)

    def listener_ports(self) -> dict[str, int]:
        data = self.json("/listeners?format=json")
        ports: dict[str, int] = {}
        for item in data.get("listener_statuses", []):
            socket = item.get("local_address", {}).get("socket_address", {})
            ports[item["name"]] = int(socket.get("port_value", 0))
        return ports

    def server_version(self) -> str | None:
        try:
            info = self.json("/server_info")
        except (OSError, ValueError, ProcessFailed):
            return None
        version = str(info.get("version", ""))
        match = re.search(r"/(\d+\.\d+\.\d+[^/]*)/", version)
        return match.group(1) if match else None

    def stats(self, filter_regex: str | None = None) -> dict[str, int]:
        """Counters and gauges by name, and each histogram's number of samples (the sum of
        its ``totals`` bucket counts, as ``histogram_buckets=detailed`` prints them)."""
        path = "/stats?format=json&histogram_buckets=detailed"
        if filter_regex:
            path += "&filter=" + urllib.parse.quote(filter_regex, safe="")
        return stats_values(self.json(path))

    def flushed_stats(self, filter_regex: str, tries: int = 200) -> dict[str, int]:
        """:meth:`stats` with every histogram sample recorded before the call in it.

        Envoy merges the workers' histograms when it flushes stats - in the harness on each
        admin stats request (``stats_flush_on_admin``), asynchronously, after answering it,
        and a request that comes while a merge runs drops its flush (counted in
        ``server.dropped_stat_flushes``). So: a flush that ran (the counter did not move since
        the last read) after one that ran means the first one's merge, started after the
        call, was complete when this read's values were taken.
        """
        pattern = f"(?:{filter_regex})|^{re.escape(DROPPED_FLUSHES)}$"
        previous: int | None = None
        ran = 0
        for _ in range(tries):
            values = self.stats(pattern)
            dropped = values.pop(DROPPED_FLUSHES, 0)
            if previous is not None and dropped == previous:
                ran += 1
                if ran == 2:
                    return values
            else:
                time.sleep(0.002)  # a merge is running: give the workers a moment
            previous = dropped
        raise ProcessFailed(
            f"Envoy did not finish merging its histograms in {tries} admin stats requests",
            command=["/stats"],
            returncode=None,
        )


#: Envoy's count of stats flushes it skipped because one was still running.
DROPPED_FLUSHES = "server.dropped_stat_flushes"


def stats_values(data: Any) -> dict[str, int]:
    """Admin ``/stats?format=json&histogram_buckets=detailed``: counters and gauges are
    ``{"name", "value"}`` entries; histograms are in one ``{"histograms": {"details": [{"name",
    "totals": [{"lower_bound", "width", "count"}]}]}}`` entry."""
    out: dict[str, int] = {}
    for entry in data.get("stats", []):
        if "value" in entry and isinstance(entry["value"], int | float):
            out[entry["name"]] = int(entry["value"])
        histograms = entry.get("histograms")
        if isinstance(histograms, dict):
            for detail in histograms.get("details", []):
                out[detail["name"]] = sum(int(b["count"]) for b in detail.get("totals", []))
    return out
