"""Answers to ``proxy_get_property``: the attributes a filter commonly reads.

Values are encoded as Envoy encodes them: strings as bytes, integers as
little-endian int64, booleans as one byte, maps in the header-map format.
What the guest sets with ``proxy_set_property`` is read back first.

Which attribute exists when follows Envoy 1.40 (tests/fixtures/wat/properties.wat
checks it on both engines): the request attributes read from its headers exist
only while the request is processed (in response callbacks ``request.headers`` is
an empty map and the rest are absent), ``response.*`` only once a response
exists, and the route and cluster are under ``xds.``; ``node.*``, ``cluster_name``
and ``route_name`` are absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from wasmkit.emulator.serial import encode_pairs, i64

Value = str | int | bool | bytes | list[tuple[str, str]]


@dataclass
class ConnectionInfo:
    """The fixed facts of the emulated connection (a local client on HTTP/1.1)."""

    source_address: str = "127.0.0.1"
    source_port: int = 40000
    destination_address: str = "127.0.0.1"
    destination_port: int = 10000
    upstream_address: str = "127.0.0.1"
    upstream_port: int = 8080
    connection_id: int = 1


@dataclass
class PluginInfo:
    name: str
    root_id: str
    vm_id: str
    cluster_name: str = "upstream"
    route_name: str = ""


def encode(value: Value) -> bytes:
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return i64(value)
    if isinstance(value, bytes):
        return value
    if isinstance(value, list):
        return encode_pairs(value)
    return value.encode()


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k == name), None)


StreamView = Callable[[], Mapping[str, Value | None]]


def stream_properties(
    request_headers: list[tuple[str, str]],
    response_headers: list[tuple[str, str]],
    request_body_size: int,
    response_body_size: int,
    start_ns: int,
    details: str | None,
) -> dict[tuple[str, ...], Value | None]:
    status = _header(response_headers, ":status")
    props: dict[tuple[str, ...], Value | None] = {
        ("request", "protocol"): "HTTP/1.1",
        ("request", "time"): start_ns,
        ("request", "size"): request_body_size,
        ("request", "total_size"): request_body_size,
    }
    if response_headers:
        props[("request", "headers")] = []
        props.update(
            {
                ("response", "code"): int(status) if status and status.isdigit() else None,
                ("response", "code_details"): details,
                ("response", "headers"): [(k, v) for k, v in response_headers if k[0] != ":"],
                ("response", "size"): response_body_size,
                ("response", "flags"): 0,
            }
        )
        return props
    path = _header(request_headers, ":path") or ""
    url_path, _, query = path.partition("?")
    props.update(
        {
            ("request", "path"): path,
            ("request", "url_path"): url_path,
            ("request", "query"): query,
            ("request", "host"): _header(request_headers, ":authority"),
            ("request", "scheme"): _header(request_headers, ":scheme"),
            ("request", "method"): _header(request_headers, ":method"),
            ("request", "headers"): [(k, v) for k, v in request_headers if k[0] != ":"],
            ("request", "referer"): _header(request_headers, "referer"),
            ("request", "useragent"): _header(request_headers, "user-agent"),
            ("request", "id"): _header(request_headers, "x-request-id"),
        }
    )
    return props


def static_properties(
    plugin: PluginInfo, conn: ConnectionInfo
) -> dict[tuple[str, ...], Value | None]:
    props: dict[tuple[str, ...], Value | None] = {
        ("plugin_name",): plugin.name,
        ("plugin_root_id",): plugin.root_id,
        ("plugin_vm_id",): plugin.vm_id,
        ("xds", "cluster_name"): plugin.cluster_name,
        ("xds", "route_name"): plugin.route_name,
        ("connection", "requested_server_name"): "",
        ("source", "address"): f"{conn.source_address}:{conn.source_port}",
        ("source", "port"): conn.source_port,
        ("destination", "address"): f"{conn.destination_address}:{conn.destination_port}",
        ("destination", "port"): conn.destination_port,
        ("upstream", "address"): f"{conn.upstream_address}:{conn.upstream_port}",
        ("upstream", "port"): conn.upstream_port,
        ("connection", "mtls"): False,
        ("connection", "id"): conn.connection_id,
    }
    return props
