"""Header-map host functions, through the real wasm boundary."""

from __future__ import annotations

import pytest

from tests.unit.emulator.conftest import OUT, Host
from wasmkit.emulator import Status
from wasmkit.emulator.serial import decode_pairs, encode_pairs, host_pairs

REQ, RESP, CALL_RESP = 0, 2, 6
BAD = 0x7FFFFFF0


def test_get_header_map_value_found_missing_and_case(host: Host) -> None:
    key = host.put("A")
    assert host.call("proxy_get_header_map_value", REQ, *key, OUT, OUT + 4) == Status.OK
    assert host.given() == b"1"
    missing = host.put("nope")
    assert host.call("proxy_get_header_map_value", REQ, *missing, OUT, OUT + 4) == Status.NOT_FOUND


def test_a_map_that_does_not_exist_yet_is_a_bad_argument(host: Host) -> None:
    key = host.put("a")
    assert host.call("proxy_get_header_map_value", RESP, *key, OUT, OUT + 4) == Status.BAD_ARGUMENT
    assert host.call("proxy_get_header_map_value", 9, *key, OUT, OUT + 4) == Status.BAD_ARGUMENT


def test_add_appends_and_replace_keeps_one_value(host: Host) -> None:
    key, one, two = host.put("X-Multi"), host.put("one"), host.put("two")
    assert host.call("proxy_add_header_map_value", REQ, *key, *one) == Status.OK
    assert host.call("proxy_add_header_map_value", REQ, *key, *two) == Status.OK
    assert [v for k, v in host.ctx.request_headers or [] if k == "x-multi"] == ["one", "two"]
    three = host.put("three")
    assert host.call("proxy_replace_header_map_value", REQ, *key, *three) == Status.OK
    assert [v for k, v in host.ctx.request_headers or [] if k == "x-multi"] == ["three"]
    fresh = host.put("fresh")
    assert host.call("proxy_replace_header_map_value", REQ, *fresh, *one) == Status.OK
    assert ("fresh", "one") in (host.ctx.request_headers or [])


def test_remove_removes_every_value(host: Host) -> None:
    key, value = host.put("a"), host.put("again")
    host.call("proxy_add_header_map_value", REQ, *key, *value)
    assert host.ctx.request_headers is not None
    before = list(host.ctx.request_headers)  # a copy: the host may edit the map in place
    assert [v for k, v in before if k == "a"] == ["1", "again"]
    assert host.call("proxy_remove_header_map_value", REQ, *key) == Status.OK
    after = host.ctx.request_headers
    assert after is not None and after == [(k, v) for k, v in before if k != "a"]
    assert host.call("proxy_remove_header_map_value", RESP, *key) == Status.BAD_ARGUMENT


def test_pairs_round_trip_and_size(host: Host) -> None:
    assert host.call("proxy_get_header_map_pairs", REQ, OUT, OUT + 4) == Status.OK
    assert decode_pairs(host.given()) == host.ctx.request_headers
    new = host.put(encode_pairs([("x-only", "this"), ("Upper", "v")]))
    assert host.call("proxy_set_header_map_pairs", REQ, *new) == Status.OK
    assert host.ctx.request_headers == [("x-only", "this"), ("upper", "v")]
    assert host.call("proxy_get_header_map_size", REQ, OUT) == Status.OK
    assert host.u32(OUT) == len("x-only") + len("this") + len("upper") + len("v")


@pytest.mark.parametrize(
    "broken",
    [
        encode_pairs([("k", "v")])[:-3],  # truncated
        encode_pairs([("k", "v")]) + b"\0\0\0\0",  # bytes after the last entry
        encode_pairs([("k", "v")]).replace(b"k\0", b"kx"),  # a key without its NUL
    ],
    ids=["truncated", "trailing", "no-nul"],
)
def test_a_malformed_map_is_an_empty_map_as_in_envoy(host: Host, broken: bytes) -> None:
    """proxy-wasm-cpp-host's toPairs makes any flawed map empty, without an error: setting
    it clears the headers, and an HTTP call with such headers lacks :path (refused)."""
    assert host_pairs(broken) == []
    assert host.call("proxy_set_header_map_pairs", REQ, *host.put(broken)) == Status.OK
    assert host.ctx.request_headers == []


def test_bad_pointers_are_invalid_memory_access(host: Host) -> None:
    key = host.put("a")
    assert host.call("proxy_get_header_map_value", REQ, BAD, 5, OUT, OUT + 4) == 6
    assert host.call("proxy_get_header_map_value", REQ, *key, BAD, OUT + 4) == 6
    assert host.call("proxy_add_header_map_value", REQ, *key, 0, 0xFFFFFFF) == 6
    assert host.call("proxy_get_header_map_pairs", REQ, OUT, BAD) == 6


def test_http_call_response_maps_exist_only_while_the_answer_is_delivered(host: Host) -> None:
    assert host.call("proxy_get_header_map_pairs", CALL_RESP, OUT, OUT + 4) == Status.BAD_ARGUMENT
