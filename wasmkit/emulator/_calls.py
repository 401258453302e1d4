"""What every group of host functions needs: guest memory access and the current context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wasmkit.codes import Status
from wasmkit.emulator.context import Context
from wasmkit.emulator.serial import u32

if TYPE_CHECKING:
    from wasmkit.emulator.vm import Vm


class CallBase:
    def __init__(self, vm: Vm):
        self.vm = vm

    # --- helpers ---------------------------------------------------------------------------
    def _read(self, ptr: int, size: int) -> bytes:
        return self.vm.guest.read(ptr, size)

    def _text(self, ptr: int, size: int) -> str:
        return self._read(ptr, size).decode("utf-8", "replace")

    def _give(self, data: bytes, ptr_ptr: int, size_ptr: int) -> int:
        """Copy ``data`` into guest memory allocated by the guest; write pointer and size."""
        # Check the out-parameters first: a bad one must not leak an allocation.
        self.vm.guest.read(ptr_ptr, 4)
        self.vm.guest.read(size_ptr, 4)
        ptr = self.vm.allocate(len(data)) if data else 0
        if data and ptr == 0:
            return Status.INVALID_MEMORY_ACCESS
        self.vm.guest.write(ptr, data)
        self.vm.guest.write(ptr_ptr, u32(ptr))
        self.vm.guest.write(size_ptr, u32(len(data)))
        return Status.OK

    @property
    def _ctx(self) -> Context:
        return self.vm.effective
