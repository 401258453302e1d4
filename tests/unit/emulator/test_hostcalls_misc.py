"""Logging, time, contexts, properties, stream control and local replies."""

from __future__ import annotations

import struct

import pytest

from tests.unit.emulator.conftest import OUT, Host
from wasmkit.emulator import Clock, Status, World
from wasmkit.emulator.properties import encode


def test_log_levels_and_messages(host: Host) -> None:
    for level in range(6):
        assert host.call("proxy_log", level, *host.put(f"level {level}")) == 0
    assert host.call("proxy_log", 6, *host.put("nope")) == Status.BAD_ARGUMENT
    assert [(line.level, line.message) for line in host.world.logs] == [
        ("trace", "level 0"),
        ("debug", "level 1"),
        ("info", "level 2"),
        ("warn", "level 3"),
        ("error", "level 4"),
        ("critical", "level 5"),
    ]
    assert host.world.logs[0].context_id == host.ctx.id


def test_the_log_level_filters_and_is_reported() -> None:
    host = Host(world=World(log_level="warn"))
    host.call("proxy_log", 2, *host.put("quiet"))
    host.call("proxy_log", 3, *host.put("loud"))
    assert [line.message for line in host.world.logs] == ["loud"]
    assert host.call("proxy_get_log_level", OUT) == 0 and host.u32(OUT) == 3


def test_time_comes_from_the_world_clock() -> None:
    host = Host(world=World(clock=Clock(now_ns=1_700_000_000_123_456_789)))
    assert host.call("proxy_get_current_time_nanoseconds", OUT) == 0
    assert host.u64(OUT) == 1_700_000_000_123_456_789


def test_tick_period_and_tick(host: Host) -> None:
    with host.root() as root:
        assert host.call("proxy_set_tick_period_milliseconds", 250, ctx=root) == 0
    assert host.vm.tick_period_ms == 250
    host.vm.tick()  # the guest has no proxy_on_tick: nothing happens, nothing breaks


def test_effective_context(host: Host) -> None:
    assert host.call("proxy_set_effective_context", 12345) == Status.BAD_ARGUMENT
    assert host.call("proxy_set_effective_context", host.vm.root.id) == 0


def test_small_calls_answer_like_envoy(host: Host) -> None:
    assert host.call("proxy_done") == 0
    assert host.call("proxy_call_foreign_function", *host.put("f"), 0, 0, OUT, OUT + 4) == 1
    assert host.call("proxy_get_status", OUT + 8, OUT, OUT + 4) == 0 and host.u32(OUT + 8) == 0
    # No cluster "" (Envoy: ParseFailure); no stream 1 to send on.
    assert host.call("proxy_grpc_stream", *([0] * 8), OUT) == Status.PARSE_FAILURE
    assert host.call("proxy_grpc_send", 1, 0, 0, 1) == Status.BAD_ARGUMENT
    assert host.call("proxy_grpc_cancel", 1) == Status.NOT_FOUND
    assert host.call("proxy_grpc_close", 1) == Status.NOT_FOUND


def test_stream_control_records_resumes(host: Host) -> None:
    assert host.call("proxy_continue_stream", 0) == 0
    assert host.call("proxy_continue_stream", 1) == 0
    assert host.ctx.resumed == {0, 1}
    assert host.call("proxy_continue_stream", 7) == Status.BAD_ARGUMENT
    assert host.call("proxy_close_stream", 0) == 0 and host.ctx.closed


def _path(*parts: str) -> bytes:
    return "\0".join(parts).encode()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("request", "path"), b"/a?b=c"),
        (("request", "url_path"), b"/a"),
        (("request", "query"), b"b=c"),
        (("request", "method"), b"POST"),
        (("request", "host"), b"example.com"),
        (("request", "protocol"), b"HTTP/1.1"),
        (("request", "size"), struct.pack("<q", 3)),
        (("plugin_root_id",), b"root"),
        (("plugin_name",), b"test"),
        (("plugin_vm_id",), b"vm"),
        (("xds", "cluster_name"), b"upstream"),
        (("request", "headers", "x-a"), b"1"),
        (("source", "port"), struct.pack("<q", 40000)),
        (("connection", "mtls"), b"\x00"),
    ],
)
def test_properties(path: tuple[str, ...], value: bytes) -> None:
    host = Host()
    host.ctx.request_headers = [
        (":authority", "example.com"),
        (":path", "/a?b=c"),
        (":method", "POST"),
        ("x-a", "1"),
    ]
    host.ctx.request_body = bytearray(b"abc")
    assert host.call("proxy_get_property", *host.put(_path(*path)), OUT, OUT + 4) == 0
    assert host.given() == value


def test_request_headers_property_is_a_map_and_unknown_is_not_found(host: Host) -> None:
    assert (
        host.call("proxy_get_property", *host.put(_path("request", "headers")), OUT, OUT + 4) == 0
    )
    assert host.given() == encode([("a", "1"), ("b", "2")])
    for missing in (
        ("no", "such"),
        ("response", "code"),
        ("node", "id"),
        ("request", "headers", "zz"),
    ):
        assert host.call("proxy_get_property", *host.put(_path(*missing)), OUT, OUT + 4) == 1


def test_in_the_response_the_requests_header_attributes_are_gone(host: Host) -> None:
    host.ctx.response_headers = [(":status", "204"), ("x-r", "v")]
    host.ctx.details = "via_upstream"
    found = {}
    for path in (
        ("request", "path"),
        ("request", "headers"),
        ("response", "code"),
        ("response", "code_details"),
        ("response", "headers", "x-r"),
    ):
        status = host.call("proxy_get_property", *host.put(_path(*path)), OUT, OUT + 4)
        found[".".join(path)] = host.given() if status == 0 else None
    assert found == {
        "request.path": None,
        "request.headers": encode([]),
        "response.code": struct.pack("<q", 204),
        "response.code_details": b"via_upstream",
        "response.headers.x-r": b"v",
    }


def test_set_property_is_read_back(host: Host) -> None:
    path = host.put(_path("filter_state", "mine"))
    assert host.call("proxy_set_property", *path, *host.put("value")) == 0
    assert host.call("proxy_get_property", *path, OUT, OUT + 4) == 0
    assert host.given() == b"value"


def test_a_tests_property_matches_segments_that_hold_dots(host: Host) -> None:
    # A test gives "metadata.filter_metadata.envoy.filters.http.lua.key" (the Rust SDK's
    # envoy_filter_metadata example); the filter asks for the namespace as one segment.
    given = ("metadata", "filter_metadata", "envoy", "filters", "http", "lua", "key")
    host.world.properties = {given: b"HELLO"}
    path = _path("metadata", "filter_metadata", "envoy.filters.http.lua", "key")
    assert host.call("proxy_get_property", *host.put(path), OUT, OUT + 4) == 0
    assert host.given() == b"HELLO"


def test_local_response_is_recorded_once(host: Host) -> None:
    from wasmkit.emulator.serial import encode_pairs

    details, body = host.put("nope_details"), host.put("go away")
    headers = host.put(encode_pairs([("X-Why", "test")]))
    assert host.call("proxy_send_local_response", 418, *details, *body, *headers, -1) == 0
    reply = host.ctx.local_reply
    assert reply is not None
    assert (reply.status, reply.details, reply.body, reply.headers) == (
        418,
        "nope_details",
        b"go away",
        (("x-why", "test"),),
    )
    host.call("proxy_send_local_response", 500, *details, *body, 0, 0, -1)
    assert host.ctx.local_reply is reply
    with host.root() as root:
        assert host.call("proxy_send_local_response", 500, 0, 0, 0, 0, 0, 0, -1, ctx=root) == 2


def test_every_host_function_envoy_links_is_implemented(host: Host) -> None:
    from wasmkit.emulator.hostcalls import HostCalls
    from wasmkit.emulator.wasi import Wasi
    from wasmkit.module import HOST_MODULES

    provided = {**HostCalls(host.vm).table(), **Wasi(host.vm).table()}
    wanted = {f"{module}.{name}" for module, table in HOST_MODULES.items() for name in table}
    assert wanted <= provided.keys()


def test_emscripten_memory_growth_is_ignored(host: Host) -> None:
    with host.vm.acting(host.ctx):
        assert host.vm.guest.call("call_emscripten_notify_memory_growth", 3) is None
