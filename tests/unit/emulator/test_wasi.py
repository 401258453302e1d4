"""The WASI functions Envoy links: output to the log, time, randomness, and refusals."""

from __future__ import annotations

import struct

import pytest

from tests.unit.emulator.conftest import OUT, Host
from wasmkit.emulator import Clock, GuestTrap, World
from wasmkit.emulator.wasi import EBADF, EFAULT, ENOSYS


def _iovecs(host: Host, *chunks: str) -> tuple[int, int]:
    pointers = [host.put(c) for c in chunks]
    table = b"".join(struct.pack("<II", p, n) for p, n in pointers)
    return host.put(table)[0], len(chunks)


def test_stdout_and_stderr_become_log_lines(host: Host) -> None:
    iovs, count = _iovecs(host, "hello ", "world\n")
    assert host.call("fd_write", 1, iovs, count, OUT) == 0
    assert host.u32(OUT) == len("hello world\n")
    iovs, count = _iovecs(host, "oops")
    assert host.call("fd_write", 2, iovs, count, OUT) == 0
    assert [(line.level, line.message) for line in host.world.logs] == [
        ("info", "hello world"),
        ("error", "oops"),
    ]
    assert host.call("fd_write", 5, iovs, count, OUT) == EBADF


def test_bad_iovecs_fault_instead_of_crashing(host: Host) -> None:
    assert host.call("fd_write", 1, 0x7FFFFFF0, 1, OUT) == EFAULT
    bad = host.put(struct.pack("<II", 0x7FFFFFF0, 100))[0]
    assert host.call("fd_write", 1, bad, 1, OUT) == EFAULT


def test_clocks_and_random() -> None:
    host = Host(world=World(clock=Clock(now_ns=123)))
    assert host.call("clock_time_get", 0, 1, OUT) == 0 and host.u64(OUT) == 123
    assert host.call("clock_time_get", 1, 1, OUT) == 0 and host.u64(OUT) == 123
    assert host.call("clock_res_get", 0, OUT) == 0 and host.u64(OUT) == 1
    host.vm.guest.write(OUT, bytes(32))
    assert host.call("random_get", OUT, 32) == 0
    assert host.vm.guest.read(OUT, 32) != bytes(32)
    assert host.call("random_get", OUT, 0xFFFFFFFF) == EFAULT


def test_no_arguments_no_environment_no_files(host: Host) -> None:
    assert host.call("args_sizes_get", OUT, OUT + 4) == 0
    assert (host.u32(OUT), host.u32(OUT + 4)) == (0, 0)
    assert host.call("environ_sizes_get", OUT, OUT + 4) == 0
    assert host.call("args_get", OUT, OUT + 4) == 0
    assert host.call("environ_get", OUT, OUT + 4) == 0
    assert host.call("fd_prestat_get", 3, OUT) == EBADF  # wasi-libc stops scanning preopens here
    assert host.call("fd_read", 0, OUT, 0, OUT + 4) == EBADF
    assert host.call("fd_close", 1) == EBADF
    assert host.call("fd_seek", 1, 0, 0, OUT) == EBADF
    assert host.call("fd_filestat_get", 3, OUT) == ENOSYS
    # Envoy answers a poll at once, with no event (wasi_poll.wat on both engines).
    assert host.call("poll_oneoff", OUT, OUT + 64, 1, OUT + 8) == 0 and host.u32(OUT + 8) == 0
    assert host.call("sched_yield") == 0
    assert host.call("fd_fdstat_get", 1, OUT) == 0 and host.vm.guest.read(OUT, 1) == b"\x02"
    assert host.call("fd_fdstat_get", 9, OUT) == EBADF


def test_proc_exit_stops_the_guest(host: Host) -> None:
    with pytest.raises(GuestTrap, match=r"proc_exit\(3\)"), host.vm.acting(host.ctx):
        host.vm.guest.call("call_proc_exit", 3)
