"""The Python API: load a filter, send requests, inspect what clients, upstreams and the host saw."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from tests.conftest import FIXTURES
from wasmkit.emulator import (
    HttpCallResponse,
    HttpRequest,
    HttpResponse,
    load_filter,
)
from wasmkit.emulator.stream import STALLED
from wasmkit.errors import ModuleError, ModuleLoadError

WAT = FIXTURES / "wat"


def test_add_header_end_to_end() -> None:
    f = load_filter(WAT / "add_header.wat", root_id="add_header", configuration="world")
    seen: list[HttpRequest] = []

    def upstream(request: HttpRequest) -> HttpResponse:
        seen.append(request)
        return HttpResponse(201, (("x-gone", "secret"), ("x-kept", "1")), b"made")

    request = HttpRequest("POST", "/orders", (("host", "shop"), ("x-user", "al")), b"{}")
    ex = f.request(request, upstream)
    assert (ex.status, ex.body, ex.header("hello"), ex.header("x-gone")) == (
        201,
        b"made",
        "world",
        None,
    )
    assert ex.upstream == seen[0]
    assert dict(seen[0].headers)["x-stamp"] == "world"
    assert dict(seen[0].headers)["host"] == "shop"
    assert seen[0].body == b"{}"
    assert [line.message for line in f.logs] == ["configured"]


def test_local_reply_goes_through_the_response_callback() -> None:
    f = load_filter(WAT / "add_header.wat", configuration="v")
    ex = f.request(HttpRequest(headers=(("x-deny", "1"),)))
    assert (ex.status, ex.body, ex.details, ex.upstream) == (
        403,
        b"denied by wasm",
        "denied_by_wasm",
        None,
    )
    assert ex.header("hello") == "v" and ex.header("content-type") == "text/plain"
    assert ex.local_reply is not None and ex.local_reply.status == 403


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("no_abi", "Missing or unknown Proxy-Wasm ABI version"),
        ("unknown_import", "Failed to load Wasm module due to a missing import: env.abort"),
        ("bad_signature", "import type mismatch: env.proxy_log"),
        ("configure_fails", "Failed to configure base Wasm plugin"),
    ],
)
def test_refused_modules_carry_envoys_reason(fixture: str, reason: str) -> None:
    with pytest.raises(ModuleLoadError) as caught:
        load_filter(WAT / f"{fixture}.wat")
    assert reason in caught.value.reason
    assert caught.value.exit_code == 1 and caught.value.hint


def test_corrupted_bytes_are_refused() -> None:
    with pytest.raises(ModuleLoadError, match="Failed to parse corrupted Wasm module"):
        load_filter(b"\0asm\x01\0\0\0garbage")


def test_http_calls_answered_in_order_or_by_cluster() -> None:
    wat = WAT / "http_auth.wat"
    f = load_filter(wat, http_calls={"auth": HttpCallResponse(200, body=b"bob")})
    ex = f.request(HttpRequest())
    assert ex.status == 200 and ex.upstream is not None
    assert dict(ex.upstream.headers)["x-auth"] == "bob"
    assert [c.cluster for c in ex.http_calls] == ["auth"]
    assert ex.http_calls[0].header(":path") == "/check"
    refused = load_filter(wat, http_calls=[HttpCallResponse(500)]).request(HttpRequest())
    assert (refused.status, refused.body) == (403, b"forbidden by auth")
    missing = load_filter(wat).request(HttpRequest())
    assert (missing.status, missing.http_calls) == (503, ())
    assert f.world.metrics.snapshot() == {"auth_calls": 1}


PAUSE = """
(module
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1)))
"""


def test_a_stream_paused_forever_gets_no_response() -> None:
    f = load_filter(bytes(wasmtime.wat2wasm(PAUSE)))
    ex = f.request(HttpRequest())
    assert (ex.status, ex.error, ex.upstream) == (None, STALLED, None)


ABI_0_1_0 = """
(module
  (memory (export "memory") 1)
  (global $args (export "args") (mut i32) (i32.const 0))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_1_0"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32) (result i32)
    (global.set $args (local.get 1)) (i32.const 0)))
"""


def test_abi_0_1_0_header_callbacks_get_two_arguments() -> None:
    f = load_filter(bytes(wasmtime.wat2wasm(ABI_0_1_0)))
    assert f.request(HttpRequest()).status == 200
    # :authority :path :method :scheme x-forwarded-proto x-request-id
    assert f.vm.guest.global_value("args") == 6


def test_a_wat_path_and_a_missing_file(tmp_path: Path) -> None:
    assert load_filter(str(WAT / "add_header.wat")).request(HttpRequest()).status == 200
    with pytest.raises(ModuleError, match="does not exist"):
        load_filter(tmp_path / "nothing.wasm")


def test_a_local_reply_keeps_the_filters_own_content_type() -> None:
    from wasmkit.emulator import LocalReply
    from wasmkit.emulator.stream import StreamRun

    typed = LocalReply(403, "d", b"{}", (("content-type", "application/json"),))
    assert [v for k, v in StreamRun._reply_headers(typed) if k == "content-type"] == [
        "application/json"
    ]
    plain = LocalReply(403, "d", b"no", ())
    assert ("content-type", "text/plain") in StreamRun._reply_headers(plain)
    assert ("content-type", "text/plain") not in StreamRun._reply_headers(
        LocalReply(204, "", b"", ())
    )


def test_driving_single_callbacks() -> None:
    f = load_filter(WAT / "add_header.wat", configuration="cfg")
    denied = f.stream(HttpRequest(headers=(("x-deny", "1"),)))
    assert denied.on_request_headers() == 1
    assert denied.local_reply is not None and denied.local_reply.status == 403
    denied.close()

    stream = f.stream(HttpRequest("POST", "/p", (), b"abc"))
    assert stream.on_request_headers() == 0
    assert ("x-stamp", "cfg") in stream.request_headers
    assert stream.on_request_body() == 0 and stream.request_body == b"abc"
    assert stream.on_response_headers([(":status", "200"), ("x-gone", "1")]) == 0
    assert ("hello", "cfg") in stream.response_headers
    assert all(k != "x-gone" for k, _ in stream.response_headers)
    stream.close()
    stream.close()  # once only
    assert stream.ctx.id not in f.vm.contexts


def test_ticks_pass_while_a_stream_waits() -> None:
    from wasmkit.emulator import Clock, World

    clock = Clock(now_ns=0)
    f = load_filter(WAT / "tick_resume.wat", world=World(clock=clock))
    assert f.vm.tick_period_ms == 20
    ex = f.request(HttpRequest())
    assert ex.status == 200 and ex.upstream is not None
    assert dict(ex.upstream.headers)["x-ticked"] == "yes"
    assert clock.fixed_ns == 20_000_000  # one tick of simulated time


NEVER_RESUMES = """
(module
  (import "env" "proxy_set_tick_period_milliseconds" (func $period (param i32) (result i32)))
  (memory (export "memory") 1)
  (global $ticks (export "ticks") (mut i32) (i32.const 0))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $period (i32.const 100))) (i32.const 1))
  (func (export "proxy_on_tick") (param i32)
    (global.set $ticks (i32.add (global.get $ticks) (i32.const 1))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1)))
"""


def test_a_stream_nobody_resumes_gives_up_after_the_clients_patience() -> None:
    f = load_filter(bytes(wasmtime.wat2wasm(NEVER_RESUMES)))
    ex = f.request(HttpRequest())
    assert (ex.status, ex.error) == (None, STALLED)
    assert f.vm.guest.global_value("ticks") == 100  # 10 s of 100 ms ticks


BODY_CALLS = """
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "data end ")
  (global $buffer (mut i32) (i32.const 0))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param $root i32) (param $size i32) (result i32)
    (global.set $buffer (local.get $size)) (i32.const 1))
  ;; logs "data" or "end" with the size it was given; buffers the data if configured to
  (func $body (param $size i32) (param $eos i32) (result i32)
    (drop (call $log (i32.const 2) (i32.add (i32.const 16) (i32.mul (local.get $eos) (i32.const 5)))
                     (i32.add (i32.const 3) (i32.eqz (local.get $eos)))))
    (drop (call $log (i32.const 2) (i32.const 16) (local.get $size)))
    (if (result i32) (i32.and (i32.eqz (local.get $eos)) (i32.ne (global.get $buffer) (i32.const 0)))
      (then (i32.const 1)) (else (i32.const 0))))
  (func (export "proxy_on_request_body") (param i32) (param $size i32) (param $eos i32) (result i32)
    (call $body (local.get $size) (local.get $eos)))
  (func (export "proxy_on_response_body") (param i32) (param $size i32) (param $eos i32) (result i32)
    (call $body (local.get $size) (local.get $eos))))
"""


@pytest.mark.parametrize(("buffering", "end_size"), [(False, 0), (True, 4)])
def test_bodies_arrive_as_data_then_an_empty_end_as_in_envoy(
    buffering: bool, end_size: int
) -> None:
    """Envoy's HTTP/1 codec: (data, end_of_stream false), then (nothing, true); a filter that
    buffers (StopIterationAndBuffer) sees the whole body again at the end."""
    f = load_filter(bytes(wasmtime.wat2wasm(BODY_CALLS)), configuration="b" if buffering else "")
    ex = f.send("POST", "/", {}, "abcd", upstream=lambda r: HttpResponse(200, (), b"wxyz"))
    said = [line.message for line in ex.logs]
    # (kind, the first `size` bytes of "data end ": its length says the size it was given)
    request = list(zip(said[0:4:2], [len(s) for s in said[1:4:2]], strict=True))
    assert request == [("data", 4), ("end", end_size)]
    assert ex.upstream is not None and ex.upstream.body == b"abcd"
    assert ex.body == b"wxyz" and said[4::2] == ["data", "end"]
