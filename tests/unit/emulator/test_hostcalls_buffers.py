"""Buffers and configuration: proxy_get/set_buffer_bytes, proxy_get_buffer_status."""

from __future__ import annotations

from tests.unit.emulator.conftest import OUT, Host
from wasmkit.emulator import Status

REQUEST_BODY, RESPONSE_BODY, VM_CONFIG, PLUGIN_CONFIG = 0, 1, 6, 7


def test_plugin_configuration_is_read_in_the_root_context_only() -> None:
    host = Host(configuration=b"hello world")
    with host.root() as root:
        assert (
            host.call("proxy_get_buffer_bytes", PLUGIN_CONFIG, 0, 100, OUT, OUT + 4, ctx=root) == 0
        )
        assert host.given() == b"hello world"
        assert host.call("proxy_get_buffer_bytes", PLUGIN_CONFIG, 6, 3, OUT, OUT + 4, ctx=root) == 0
        assert host.given() == b"wor"
    assert (
        host.call("proxy_get_buffer_bytes", PLUGIN_CONFIG, 0, 100, OUT, OUT + 4) == Status.NOT_FOUND
    )


def test_reading_past_the_end_is_clamped_and_starting_past_it_refused(host: Host) -> None:
    host.ctx.request_body = bytearray(b"abc")
    assert host.call("proxy_get_buffer_bytes", REQUEST_BODY, 1, 100, OUT, OUT + 4) == 0
    assert host.given() == b"bc"
    assert (
        host.call("proxy_get_buffer_bytes", REQUEST_BODY, 4, 1, OUT, OUT + 4) == Status.BAD_ARGUMENT
    )


def test_an_empty_read_allocates_nothing(host: Host) -> None:
    host.vm.guest.write(OUT, b"\xff" * 8)
    assert host.call("proxy_get_buffer_bytes", VM_CONFIG, 0, 10, OUT, OUT + 4) == Status.OK
    assert host.vm.guest.read(OUT, 8) == b"\xff" * 8


def test_bodies_exist_empty_before_they_arrive(host: Host) -> None:
    assert host.call("proxy_get_buffer_bytes", RESPONSE_BODY, 0, 10, OUT, OUT + 4) == Status.OK
    assert host.call("proxy_get_buffer_bytes", 5, 0, 10, OUT, OUT + 4) == Status.NOT_FOUND


def _set(host: Host, start: int, length: int, data: str) -> tuple[int, bytes]:
    host.ctx.response_body = bytearray(b"abcdef")
    status = host.call("proxy_set_buffer_bytes", RESPONSE_BODY, start, length, *host.put(data))
    return status, bytes(host.ctx.response_body)


def test_set_buffer_bytes_follows_envoy() -> None:
    # Recorded from Envoy 1.40 (response body "abcdef", data "XY").
    host = Host()
    assert _set(host, 0, 0, "XY") == (0, b"XYabcdef")
    assert _set(host, 6, 0, "XY") == (0, b"abcdefXY")
    assert _set(host, 0, 6, "XY") == (0, b"XY")
    assert _set(host, 2, 1, "XY") == (Status.BAD_ARGUMENT, b"abcdef")
    assert _set(host, 0, 2, "XY") == (0, b"XYcdef")
    assert _set(host, 0, 100, "XY") == (0, b"XY")
    assert _set(host, 100, 0, "XY") == (0, b"abcdefXY")


def test_configuration_buffers_cannot_be_written() -> None:
    host = Host(configuration=b"cfg")
    with host.root() as root:
        data = host.put("x")
        assert host.call("proxy_set_buffer_bytes", PLUGIN_CONFIG, 0, 0, *data, ctx=root) == 2


def test_buffer_status_reports_length_and_end_of_stream(host: Host) -> None:
    host.ctx.request_body, host.ctx.request_complete = bytearray(b"12345"), True
    assert host.call("proxy_get_buffer_status", REQUEST_BODY, OUT, OUT + 4) == 0
    assert (host.u32(OUT), host.u32(OUT + 4)) == (5, 1)
    assert host.call("proxy_get_buffer_status", 5, OUT, OUT + 4) == Status.NOT_FOUND
