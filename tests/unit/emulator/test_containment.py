"""Whatever the guest does, the host survives: traps, runaway loops and memory, bad pointers."""

from __future__ import annotations

import time

import pytest
import wasmtime

from tests.conftest import FIXTURES
from wasmkit.emulator import (
    Clock,
    HttpRequest,
    Limits,
    VmState,
    World,
    load_filter,
)
from wasmkit.errors import ModuleLoadError


def filter_wat(request_headers: str, *, extra: str = "", configure: str = "(i32.const 1)") -> bytes:
    """A minimal filter whose proxy_on_request_headers body is ``request_headers``."""
    return bytes(
        wasmtime.wat2wasm(f"""
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get_header (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "x-crash")
  (func (export "malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) {configure})
  (func $inner_helper (param i32) (result i32) {request_headers})
  (func $outer_helper (param i32) (result i32) (call $inner_helper (local.get 0)))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (call $outer_helper (local.get 0)))
  {extra}
)""")
    )


CRASH_ON_HEADER = """
    (if (i32.eqz (call $get_header (i32.const 0) (i32.const 16) (i32.const 7) (i32.const 64) (i32.const 68)))
      (then unreachable))
    (i32.const 0)"""


def test_a_trap_reports_the_modules_own_backtrace() -> None:
    f = load_filter(filter_wat("unreachable"))
    exchange = f.request(HttpRequest())
    assert (exchange.status, exchange.details) == (503, "wasm_fail_stream")
    assert exchange.trap is not None
    assert "unreachable" in exchange.trap
    assert exchange.trap.index("inner_helper") < exchange.trap.index("outer_helper")
    assert any(line.level == "critical" for line in exchange.logs)


def test_a_runaway_loop_is_stopped_by_the_fuel_budget() -> None:
    f = load_filter(filter_wat("(loop $l (br $l)) (i32.const 0)"), limits=Limits(fuel=5_000_000))
    started = time.perf_counter()
    exchange = f.request(HttpRequest())
    assert time.perf_counter() - started < 5
    assert exchange.status == 503 and exchange.trap is not None and "fuel" in exchange.trap


GROW = """
    (local $pages i32)
    (block $full
      (loop $more
        (br_if $full (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
        (br $more)))
    (global.set $pages (memory.size))
    (i32.const 0)"""


@pytest.mark.parametrize("limit_mib", [4, 64])
def test_memory_growth_stops_at_the_limit(limit_mib: int) -> None:
    wat = filter_wat(
        GROW.replace("(local $pages i32)", ""),
        extra='(global $pages (export "pages") (mut i32) (i32.const 0))',
    )
    f = load_filter(wat, limits=Limits(memory_bytes=limit_mib * 1024 * 1024))
    exchange = f.request(HttpRequest())
    assert exchange.status == 200  # memory.grow said -1; the filter coped
    pages = f.vm.guest.global_value("pages")
    assert isinstance(pages, int) and 0 < pages * 65536 <= limit_mib * 1024 * 1024


def test_out_of_bounds_pointers_never_reach_the_host() -> None:
    body = """
    (drop (call $log (i32.const 2) (i32.const -16) (i32.const 64)))
    (drop (call $log (i32.const 2) (i32.const 65530) (i32.const 100)))
    (drop (call $get_header (i32.const 0) (i32.const 16) (i32.const -1) (i32.const 64) (i32.const 68)))
    (i32.const 0)"""
    f = load_filter(filter_wat(body))
    assert f.request(HttpRequest()).status == 200
    assert f.logs == []


def test_proc_exit_in_a_callback_is_a_trap() -> None:
    f = load_filter(filter_wat("(call $exit (i32.const 7)) (i32.const 0)"))
    exchange = f.request(HttpRequest())
    assert exchange.status == 503 and exchange.trap is not None and "proc_exit(7)" in exchange.trap


def test_a_trap_while_configuring_is_a_load_failure() -> None:
    with pytest.raises(ModuleLoadError) as caught:
        load_filter(filter_wat("(i32.const 0)", configure="unreachable"))
    assert caught.value.reason == "Failed to configure base Wasm plugin"
    assert caught.value.details is not None and "unreachable" in caught.value.details


CRASH = HttpRequest(headers=(("x-crash", "1"),))


def test_fail_closed_fails_every_later_request() -> None:
    f = load_filter(filter_wat(CRASH_ON_HEADER))
    assert f.request(CRASH).status == 503
    later = f.request(HttpRequest())
    assert (later.status, later.details, later.upstream) == (503, "wasm_fail_stream", None)
    assert f.state is VmState.FAILED


def test_fail_open_skips_the_filter_after_a_trap() -> None:
    f = load_filter(filter_wat(CRASH_ON_HEADER), failure_policy="FAIL_OPEN")
    assert f.request(CRASH).status == 503
    later = f.request(CRASH)  # the filter no longer runs, so it cannot trap
    assert later.status == 200 and later.upstream is not None
    assert f.vm_starts == 1


def test_fail_reload_starts_a_fresh_vm_after_the_backoff() -> None:
    clock = Clock(now_ns=10**12)
    f = load_filter(
        filter_wat(CRASH_ON_HEADER), failure_policy="FAIL_RELOAD", world=World(clock=clock)
    )
    assert f.request(CRASH).status == 503
    assert f.request(HttpRequest()).status == 503  # still backing off
    assert clock.fixed_ns is not None
    clock.fixed_ns += 1_000_000_000
    assert f.request(HttpRequest()).status == 200
    assert (f.vm_starts, f.state) == (2, VmState.RUNNING)


PHASES = FIXTURES / "wat" / "trap_phases.wat"


@pytest.mark.parametrize(
    ("policy", "where", "first", "then"),
    [
        ("FAIL_CLOSED", "body", 503, 503),
        ("FAIL_OPEN", "body", 503, 200),
        ("FAIL_RELOAD", "body", 503, 503),
        ("FAIL_CLOSED", "log", 200, 503),
        ("FAIL_OPEN", "response", 503, 200),
    ],
)
def test_traps_in_each_phase_meet_the_policy(
    policy: str, where: str, first: int, then: int
) -> None:
    f = load_filter(PHASES, failure_policy=policy)
    crash = f.send("POST", "/", {"x-crash": where}, "hi")
    assert crash.status == first and crash.trap is not None
    # Envoy closes the connection when it answers before it forwarded a request body.
    assert (("connection", "close") in crash.headers) == (where == "body")
    assert f.send().status == then
