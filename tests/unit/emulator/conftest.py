"""A real guest for host-function tests: a module that re-exports every host import.

``call_<name>`` in the guest forwards its arguments to the import ``name``, so a
test calls any host function through the real wasm boundary, with arguments
pointing into the guest's real memory. The module is generated from the host
table in wasmkit.module, so a new host function gets a trampoline for free.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import wasmtime

from wasmkit.emulator.context import Context, HttpCallResponse, Responder, no_clusters
from wasmkit.emulator.grpc import GrpcResponder, no_grpc_clusters
from wasmkit.emulator.properties import PluginInfo
from wasmkit.emulator.vm import Vm
from wasmkit.emulator.world import World
from wasmkit.module import ENV_FUNCTIONS, WASI_FUNCTIONS, Signature, inspect_bytes

SCRATCH = 1024  # inputs the test writes; out-parameters go at OUT
OUT = 512
HEAP = 32768


def _params(sig: Signature) -> str:
    return " ".join(f"(param {p})" for p in sig.params) + "".join(
        f" (result {r})" for r in sig.results
    )


def trampolines() -> str:
    parts = []
    for module, table in (("env", ENV_FUNCTIONS), ("wasi_snapshot_preview1", WASI_FUNCTIONS)):
        for name, sig in table.items():
            parts.append(f'(import "{module}" "{name}" (func ${name} {_params(sig)}))')
    for table in (ENV_FUNCTIONS, WASI_FUNCTIONS):
        for name, sig in table.items():
            args = " ".join(f"(local.get {i})" for i in range(len(sig.params)))
            parts.append(f'(func (export "call_{name}") {_params(sig)} (call ${name} {args}))')
    return "\n".join(parts)


def guest_wat(extra: str = "") -> str:
    return f"""
(module
  {trampolines()}
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const {HEAP}))
  (global $allocations (export "allocations") (mut i32) (i32.const 0))
  (func (export "malloc") (param $size i32) (result i32)
    (local $p i32)
    (global.set $allocations (i32.add (global.get $allocations) (i32.const 1)))
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (i32.and (i32.add (local.get $size) (i32.const 7)) (i32.const -8))))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.div_u (local.get $size) (i32.const 65536)) (i32.const 1))))))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  {extra}
)"""


class Host:
    """A started VM running the trampoline guest, with one HTTP stream context."""

    def __init__(
        self,
        extra: str = "",
        *,
        configuration: bytes = b"",
        responder: Responder = no_clusters,
        grpc_responder: GrpcResponder = no_grpc_clusters,
        world: World | None = None,
        vm_id: str = "vm",
    ):
        data = bytes(wasmtime.wat2wasm(guest_wat(extra)))
        self.world = world or World()
        self.vm = Vm(
            data,
            inspect_bytes(data),
            world=self.world,
            plugin=PluginInfo(name="test", root_id="root", vm_id=vm_id),
            plugin_configuration=configuration,
            responder=responder,
            grpc_responder=grpc_responder,
        )
        self.vm.start()
        self.ctx = self.vm.new_context(0)
        self.ctx.request_headers = [(":path", "/"), (":method", "GET"), ("a", "1"), ("b", "2")]
        self._scratch = SCRATCH

    def call(self, name: str, *args: int, ctx: Context | None = None) -> int:
        with self.vm.acting(ctx or self.ctx):
            result = self.vm.guest.call(f"call_{name}", *args)
        assert result is not None
        return result

    def put(self, data: bytes | str) -> tuple[int, int]:
        """Write bytes into guest memory; (pointer, length) to pass to a host function."""
        raw = data.encode() if isinstance(data, str) else data
        ptr = self._scratch
        self.vm.guest.write(ptr, raw)
        self._scratch += len(raw) + 8
        return ptr, len(raw)

    def u32(self, ptr: int) -> int:
        return int(struct.unpack("<I", self.vm.guest.read(ptr, 4))[0])

    def u64(self, ptr: int) -> int:
        return int(struct.unpack("<Q", self.vm.guest.read(ptr, 8))[0])

    def given(self, ptr_ptr: int = OUT, size_ptr: int = OUT + 4) -> bytes:
        """What a host function handed back through (pointer, size) out-parameters."""
        return self.vm.guest.read(self.u32(ptr_ptr), self.u32(size_ptr))

    @contextmanager
    def root(self) -> Iterator[Context]:
        yield self.vm.root


@pytest.fixture
def host() -> Host:
    return Host()


def canned(response: HttpCallResponse) -> Responder:
    return lambda call: response
