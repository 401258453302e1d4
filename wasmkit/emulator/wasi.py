"""The WASI preview1 functions Envoy gives a module: stdout/stderr go to the log, no files.

Envoy answers these so that wasi-libc, Rust std and Go's runtime can start; a
filter that reads files or the environment gets the same "nothing there" here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from wasmkit.emulator._wasm import HostFunction
from wasmkit.emulator.serial import u32, u64
from wasmkit.errors import HostAbort, OutOfBounds
from wasmkit.host import WASI_FUNCTIONS

if TYPE_CHECKING:
    from wasmkit.emulator.vm import Vm

ESUCCESS = 0
EBADF = 8
EFAULT = 21
ENOSYS = 52

_STDOUT, _STDERR = 1, 2
_LOG_INFO, _LOG_ERROR = 2, 4


class Wasi:
    def __init__(self, vm: Vm):
        self.vm = vm

    def table(self) -> dict[str, HostFunction]:
        functions: dict[str, HostFunction] = {
            "fd_write": self.fd_write,
            "fd_read": self.fd_read,
            "fd_seek": self.fd_seek,
            "fd_close": self.fd_close,
            "fd_fdstat_get": self.fd_fdstat_get,
            "environ_get": self.empty_list,
            "environ_sizes_get": self.empty_sizes,
            "args_get": self.empty_list,
            "args_sizes_get": self.empty_sizes,
            "clock_time_get": self.clock_time_get,
            "clock_res_get": self.clock_res_get,
            "random_get": self.random_get,
            "proc_exit": self.proc_exit,
            "sched_yield": self.sched_yield,
            "poll_oneoff": self.poll_oneoff,
            "path_open": self.no_file,
            "fd_prestat_get": self.no_file,
            "fd_prestat_dir_name": self.no_file,
        }
        out: dict[str, HostFunction] = {}
        for name in WASI_FUNCTIONS:
            functions.setdefault(name, self.not_supported)
        for name, fn in functions.items():
            guarded = fn if name == "proc_exit" else _errno_on_fault(fn)
            out[f"wasi_snapshot_preview1.{name}"] = guarded
            out[f"wasi_unstable.{name}"] = guarded
        return out

    def fd_write(self, fd: int, iovs: int, iovs_len: int, written_ptr: int) -> int:
        if fd not in (_STDOUT, _STDERR):
            return EBADF
        guest = self.vm.guest
        chunks = []
        for i in range(iovs_len & 0xFFFF):
            raw = guest.read(iovs + 8 * i, 8)
            ptr, size = int.from_bytes(raw[:4], "little"), int.from_bytes(raw[4:], "little")
            chunks.append(guest.read(ptr, size))
        data = b"".join(chunks)
        guest.write(written_ptr, u32(len(data)))
        text = data.decode("utf-8", "replace").rstrip("\n")
        if text:
            self.vm.log(_LOG_INFO if fd == _STDOUT else _LOG_ERROR, text)
        return ESUCCESS

    def fd_read(self, fd: int, iovs: int, iovs_len: int, read_ptr: int) -> int:
        return EBADF

    def fd_seek(self, fd: int, offset: int, whence: int, ret_ptr: int) -> int:
        return EBADF

    def fd_close(self, fd: int) -> int:
        return EBADF

    def fd_fdstat_get(self, fd: int, ret_ptr: int) -> int:
        if fd not in (0, _STDOUT, _STDERR):
            return EBADF
        # filetype character_device (2), no flags, all rights.
        self.vm.guest.write(ret_ptr, bytes([2, 0, 0, 0, 0, 0, 0, 0]) + u64(-1) + u64(-1))
        return ESUCCESS

    def empty_list(self, ptrs: int, buf: int) -> int:
        return ESUCCESS

    def empty_sizes(self, count_ptr: int, size_ptr: int) -> int:
        self.vm.guest.write(count_ptr, u32(0))
        self.vm.guest.write(size_ptr, u32(0))
        return ESUCCESS

    def clock_time_get(self, clock_id: int, precision: int, ret_ptr: int) -> int:
        clock = self.vm.world.clock
        now = clock.now_ns() if clock_id == 0 else clock.monotonic_ns()
        self.vm.guest.write(ret_ptr, u64(now))
        return ESUCCESS

    def clock_res_get(self, clock_id: int, ret_ptr: int) -> int:
        self.vm.guest.write(ret_ptr, u64(1))
        return ESUCCESS

    def not_supported(self, *_args: int) -> int:
        """Files, sockets and polling: linked so that a module loads, refused when called."""
        return ENOSYS

    def random_get(self, ptr: int, size: int) -> int:
        size &= 0xFFFFFFFF
        if (ptr & 0xFFFFFFFF) + size > self.vm.guest.memory_size:
            return EFAULT
        self.vm.guest.write(ptr, os.urandom(size))
        return ESUCCESS

    def proc_exit(self, code: int) -> None:
        raise HostAbort(f"the module called proc_exit({code})")

    def sched_yield(self) -> int:
        return ESUCCESS

    def poll_oneoff(self, _in: int, _out: int, _count: int, nevents_ptr: int) -> int:
        """Envoy answers at once with no event, whatever was subscribed (measured with
        tests/fixtures/wat/wasi_poll.wat): Go's runtime sleeps with it, also while it prints
        a panic, and takes ENOSYS for a fatal error that hides the panic's message."""
        self.vm.guest.write(nevents_ptr, u32(0))
        return ESUCCESS

    def no_file(self, *_args: int) -> int:
        return EBADF


def _errno_on_fault(fn: HostFunction) -> HostFunction:
    def call(*args: int) -> int | None:
        try:
            return fn(*args)
        except OutOfBounds:
            return EFAULT

    return call
