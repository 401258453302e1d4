"""Shared data, shared queues, metrics and outgoing HTTP calls."""

from __future__ import annotations

from tests.unit.emulator.conftest import OUT, Host
from wasmkit.emulator import HttpCall, HttpCallResponse, Status, World
from wasmkit.emulator.serial import encode_pairs

GOOD_HEADERS = [(":method", "GET"), (":path", "/check"), (":authority", "auth")]


def test_shared_data_with_compare_and_swap(host: Host) -> None:
    key = host.put("k")
    assert host.call("proxy_get_shared_data", *key, OUT, OUT + 4, OUT + 8) == Status.NOT_FOUND
    assert host.call("proxy_set_shared_data", *key, *host.put("v1"), 0) == 0
    assert host.call("proxy_get_shared_data", *key, OUT, OUT + 4, OUT + 8) == 0
    cas = host.u32(OUT + 8)
    assert host.given() == b"v1"
    assert host.call("proxy_set_shared_data", *key, *host.put("v2"), cas) == 0
    assert host.call("proxy_set_shared_data", *key, *host.put("v3"), cas) == Status.CAS_MISMATCH
    host.call("proxy_get_shared_data", *key, OUT, OUT + 4, OUT + 8)
    assert host.given() == b"v2"


def test_shared_data_is_per_vm_id() -> None:
    world = World()
    one, two = Host(world=world, vm_id="one"), Host(world=world, vm_id="two")
    one.call("proxy_set_shared_data", *one.put("k"), *one.put("v"), 0)
    assert two.call("proxy_get_shared_data", *two.put("k"), OUT, OUT + 4, OUT + 8) == 1
    again = Host(world=world, vm_id="one")
    assert again.call("proxy_get_shared_data", *again.put("k"), OUT, OUT + 4, OUT + 8) == 0


QUEUE_READY = """
  (global $woken (export "woken") (mut i32) (i32.const 0))
  (func (export "proxy_on_queue_ready") (param $root i32) (param $token i32)
    (global.set $woken (local.get $token)))
"""


def test_queues_register_resolve_enqueue_dequeue_and_wake_the_owner() -> None:
    host = Host(QUEUE_READY)
    name = host.put("jobs")
    with host.root() as root:
        assert host.call("proxy_register_shared_queue", *name, OUT, ctx=root) == 0
    token = host.u32(OUT)
    assert host.call("proxy_resolve_shared_queue", *host.put("vm"), *name, OUT + 4) == 0
    assert host.u32(OUT + 4) == token
    assert host.call("proxy_resolve_shared_queue", 0, 0, *host.put("none"), OUT + 4) == 1
    assert host.call("proxy_dequeue_shared_queue", token, OUT, OUT + 4) == Status.EMPTY
    assert host.call("proxy_enqueue_shared_queue", token, *host.put("job-1")) == 0
    host.vm.drain()
    assert host.vm.guest.global_value("woken") == token
    assert host.call("proxy_dequeue_shared_queue", token, OUT, OUT + 4) == 0
    assert host.given() == b"job-1"
    assert host.call("proxy_enqueue_shared_queue", 999, *host.put("x")) == Status.NOT_FOUND


def test_metrics_counter_gauge_histogram(host: Host) -> None:
    for kind, name, slot in ((0, "c", 0), (1, "g", 4), (2, "h", 8)):
        assert host.call("proxy_define_metric", kind, *host.put(name), OUT + slot) == 0
    counter, gauge, histogram = host.u32(OUT), host.u32(OUT + 4), host.u32(OUT + 8)
    assert host.call("proxy_define_metric", 0, *host.put("c"), OUT + 12) == 0
    assert host.u32(OUT + 12) == counter  # defining twice gives the same metric
    assert host.call("proxy_define_metric", 3, *host.put("x"), OUT) == Status.BAD_ARGUMENT
    assert host.call("proxy_increment_metric", counter, 5) == 0
    assert host.call("proxy_increment_metric", counter, -1) == Status.BAD_ARGUMENT
    assert host.call("proxy_record_metric", gauge, 42) == 0
    assert host.call("proxy_increment_metric", gauge, -2) == 0
    assert host.call("proxy_record_metric", histogram, 7) == 0
    assert host.call("proxy_record_metric", histogram, 9) == 0
    assert host.call("proxy_get_metric", counter, OUT + 16) == 0 and host.u64(OUT + 16) == 5
    assert host.call("proxy_get_metric", histogram, OUT + 16) == Status.BAD_ARGUMENT
    assert host.call("proxy_increment_metric", 999999, 1) == Status.BAD_ARGUMENT  # type bits 3
    assert host.call("proxy_increment_metric", 4000, 1) == Status.NOT_FOUND
    assert host.world.metrics.snapshot() == {"c": 5, "g": 40, "h": 2}
    assert host.world.metrics.histogram("h") == [7, 9]


CALL_RESPONSE = """
  (global $got (export "got") (mut i32) (i32.const -1))
  (global $to (export "to") (mut i32) (i32.const -1))
  (func (export "proxy_on_http_call_response")
        (param $ctx i32) (param $token i32) (param $headers i32) (param $body i32) (param $trailers i32)
    (global.set $got (local.get $body))
    (global.set $to (local.get $ctx))
    ;; read the body and the :status while the answer is being delivered
    (drop (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (local.get $body)
                                        (i32.const 600) (i32.const 604)))
    (drop (call $proxy_get_header_map_pairs (i32.const 6) (i32.const 608) (i32.const 612))))
"""


def test_http_call_is_recorded_and_answered_after_the_callback() -> None:
    calls: list[HttpCall] = []

    def responder(call: HttpCall) -> HttpCallResponse | None:
        calls.append(call)
        if call.cluster != "auth":
            return None
        return HttpCallResponse(200, (("X-Answer", "yes"),), b"allowed")

    host = Host(CALL_RESPONSE, responder=responder)
    headers = host.put(encode_pairs(GOOD_HEADERS))
    body = host.put("question")
    assert host.call("proxy_http_call", *host.put("auth"), *headers, *body, 0, 0, 500, OUT) == 0
    token = host.u32(OUT)
    call = host.vm.http_calls[0]
    assert (call.token, call.cluster, call.body, call.timeout_ms) == (
        token,
        "auth",
        b"question",
        500,
    )
    assert call.header(":path") == "/check"
    host.vm.drain()
    assert host.vm.guest.global_value("got") == len(b"allowed")
    # Envoy (proxy-wasm-cpp-host's http_call) runs every call on the ROOT context and answers
    # with the root's id, even when a stream context made it; SDKs find the stream by token.
    assert host.ctx.id != host.vm.root.id
    assert host.vm.guest.global_value("to") == host.vm.root.id
    assert host.given(600, 604) == b"allowed"
    assert host.given(608, 612) == encode_pairs([(":status", "200"), ("x-answer", "yes")])
    # After delivery the call's maps are gone again.
    assert host.call("proxy_get_header_map_pairs", 6, OUT, OUT + 4) == Status.BAD_ARGUMENT


def test_http_call_refusals(host: Host) -> None:
    no_path = host.put(encode_pairs([(":method", "GET"), (":authority", "x")]))
    assert host.call("proxy_http_call", *host.put("c"), *no_path, 0, 0, 0, 0, 10, OUT) == 2
    good = host.put(encode_pairs(GOOD_HEADERS))
    assert host.call("proxy_http_call", *host.put("unknown"), *good, 0, 0, 0, 0, 10, OUT) == 2
    assert host.vm.http_calls == []
