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

The route's metadata (``xds.route_metadata``) reads as Envoy 1.40 gives it (measured with
tests/fixtures/wat/property_probe.wat): the whole is the serialized ``Metadata`` message,
``filter_metadata`` a map of maps (each namespace's map nested in the header-map format), a
namespace its map of keys, a key its string. Envoy orders map entries as its hash maps
iterate; the emulator keeps the test file's order (the same for a single entry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
    virtual_host_name: str = "all"
    route_metadata: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


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


@dataclass(frozen=True)
class StreamFacts:
    """What a stream's attributes are computed from, at the moment one is read."""

    request_headers: list[tuple[str, str]]
    response_headers: list[tuple[str, str]]
    request_body_size: int
    response_body_size: int
    start_ns: int
    details: str | None
    #: The filter answered the request itself (a local reply): its attributes stay readable.
    local_reply: bool = False


def _path(f: StreamFacts) -> str:
    return _header(f.request_headers, ":path") or ""


def _code(f: StreamFacts) -> int | None:
    status = _header(f.response_headers, ":status")
    return int(status) if status and status.isdigit() else None


Attribute = Callable[[StreamFacts], Value | None]

#: Attributes of every stream.
_ALWAYS: dict[tuple[str, ...], Attribute] = {
    ("request", "protocol"): lambda f: "HTTP/1.1",
    ("request", "time"): lambda f: f.start_ns,
    ("request", "size"): lambda f: f.request_body_size,
    ("request", "total_size"): lambda f: f.request_body_size,
}
#: While the request is processed (no response yet).
_REQUEST: dict[tuple[str, ...], Attribute] = {
    ("request", "path"): _path,
    ("request", "url_path"): lambda f: _path(f).partition("?")[0],
    ("request", "query"): lambda f: _path(f).partition("?")[2],
    ("request", "host"): lambda f: _header(f.request_headers, ":authority"),
    ("request", "scheme"): lambda f: _header(f.request_headers, ":scheme"),
    ("request", "method"): lambda f: _header(f.request_headers, ":method"),
    ("request", "headers"): lambda f: [(k, v) for k, v in f.request_headers if k[0] != ":"],
    ("request", "referer"): lambda f: _header(f.request_headers, "referer"),
    ("request", "useragent"): lambda f: _header(f.request_headers, "user-agent"),
    ("request", "id"): lambda f: _header(f.request_headers, "x-request-id"),
}
#: Once a response exists: the request's header attributes are gone.
_RESPONSE: dict[tuple[str, ...], Attribute] = {
    ("request", "headers"): lambda f: [],
    ("response", "code"): _code,
    ("response", "code_details"): lambda f: f.details,
    ("response", "headers"): lambda f: [(k, v) for k, v in f.response_headers if k[0] != ":"],
    ("response", "size"): lambda f: f.response_body_size,
    ("response", "flags"): lambda f: 0,
}


class Missing:
    """Not a stream attribute at this moment (the static ones are asked next)."""


MISSING = Missing()


def stream_property(facts: StreamFacts, path: tuple[str, ...]) -> Value | Missing | None:
    """One attribute, computed alone (a filter reads a few of them per callback)."""
    if not facts.response_headers:
        table = _REQUEST
    elif facts.local_reply:
        # Measured (Envoy 1.40): answering a local reply, request.path still reads; after an
        # upstream's answer it does not.
        table = {**_RESPONSE, **_REQUEST}
    else:
        table = _RESPONSE
    attribute = table.get(path) or _ALWAYS.get(path)
    return MISSING if attribute is None else attribute(facts)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, data: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _metadata_message(metadata: Mapping[str, Mapping[str, str]]) -> bytes:
    """envoy.config.core.v3.Metadata{filter_metadata: map<string, Struct>} with string values
    (map entries: key 1, value 2; Struct.fields 1; Value.string_value 3)."""
    return b"".join(
        _field(
            1,
            _field(1, ns.encode())
            + _field(
                2,
                b"".join(
                    _field(1, _field(1, k.encode()) + _field(2, _field(3, v.encode())))
                    for k, v in keys.items()
                ),
            ),
        )
        for ns, keys in metadata.items()
    )


def route_metadata_properties(
    metadata: Mapping[str, Mapping[str, str]],
) -> dict[tuple[str, ...], Value | None]:
    base = ("xds", "route_metadata")
    props: dict[tuple[str, ...], Value | None] = {
        base: _metadata_message(metadata),
        (*base, "filter_metadata"): encode_pairs(
            [(ns, encode_pairs(list(keys.items()))) for ns, keys in metadata.items()]
        ),
    }
    for ns, keys in metadata.items():
        props[(*base, "filter_metadata", ns)] = list(keys.items())
        for key, value in keys.items():
            props[(*base, "filter_metadata", ns, key)] = value
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
        ("xds", "virtual_host_name"): plugin.virtual_host_name,
        ("xds", "filter_chain_name"): "",
        # Metadata the harness does not set: empty messages, and an empty dynamic metadata.
        ("xds", "cluster_metadata"): b"",
        ("xds", "listener_metadata"): b"",
        ("xds", "virtual_host_metadata"): b"",
        ("metadata",): b"",
        ("metadata", "filter_metadata"): [],
        **route_metadata_properties(plugin.route_metadata),
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
