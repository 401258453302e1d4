"""Envoy's admin API: readiness, listeners, version, stats, over plain HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import re
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
        path = "/stats?format=json"
        if filter_regex:
            path += "&filter=" + urllib.parse.quote(filter_regex, safe="")
        data = self.json(path)
        return {
            s["name"]: int(s["value"])
            for s in data.get("stats", [])
            if "value" in s and isinstance(s["value"], int | float)
        }
