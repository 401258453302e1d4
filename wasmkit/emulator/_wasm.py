"""The only place the emulator touches ``wasmtime``: compile, link, call, read and write memory.

Everything above this module sees plain Python: a :class:`Guest` whose exports
are called by name, whose memory is read and written with bounds checks, and
whose failures arrive as :class:`GuestTrap` carrying the module's backtrace.
The linker is built from :data:`wasmkit.host.EVER_LINKED`, the table the load check
(:mod:`wasmkit.loadcheck`) reads, so the emulator links what Envoy links; the load check
refuses, before linking, what a given Envoy would not link into a given module.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.metadata
import platform
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import wasmtime

from wasmkit.emulator import _compiled
from wasmkit.errors import GuestTrap, HostAbort, OutOfBounds, WasmCompileError
from wasmkit.host import EVER_LINKED
from wasmkit.module import Signature

#: Linear memory a guest may reach (wasmtime refuses memory.grow beyond it: -1 to the guest).
DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
#: Instructions (wasmtime fuel) per callback; a runaway loop traps instead of hanging the host.
DEFAULT_FUEL = 200_000_000

HostFunction = Callable[..., int | None]


_ENGINES: dict[bool, wasmtime.Engine] = {}
_MODULES: dict[str, wasmtime.Module] = {}
_LOCK = threading.RLock()


#: The engine configuration, in words: part of every compiled module's cache key.
_ENGINE_CONFIG = "consume_fuel=1"


def _engine() -> wasmtime.Engine:
    with _LOCK:
        if True not in _ENGINES:
            config = wasmtime.Config()
            config.consume_fuel = True
            _ENGINES[True] = wasmtime.Engine(config)
        return _ENGINES[True]


def wat_to_wasm(text: str) -> bytes:
    """WebAssembly text to binary; WasmCompileError with wasmtime's message (line, column)."""
    try:
        return bytes(wasmtime.wat2wasm(text))
    except wasmtime.WasmtimeError as exc:
        raise WasmCompileError(str(exc).strip()) from None


@functools.cache
def _engine_tag() -> str:
    """What a compiled module depends on besides its bytes: wasmtime, our config, the machine."""
    try:
        version = importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - vendored wasmtime
        version = "unknown"
    described = f"wasmtime {version}; {_ENGINE_CONFIG}; {platform.machine()}"
    return hashlib.sha256(described.encode()).hexdigest()[:16]


def compile_module(data: bytes) -> wasmtime.Module:
    """Compile once per content: in memory for this process, on disk across processes
    (a Go filter takes seconds to compile and milliseconds to load back)."""
    digest = hashlib.sha256(data).hexdigest()
    with _LOCK:
        cached = _MODULES.get(digest)
    if cached is not None:
        return cached
    key = f"{digest}-{_engine_tag()}"
    module = _load_compiled(key)
    if module is None:
        try:
            module = wasmtime.Module(_engine(), data)
        except wasmtime.WasmtimeError as exc:
            text = str(exc).strip()
            raise WasmCompileError(text.splitlines()[0] if text else "invalid module") from None
        with suppress(wasmtime.WasmtimeError):  # not serializable: simply not cached
            _compiled.store(key, module.serialize())
    with _LOCK:
        _MODULES[digest] = module
    return module


def _load_compiled(key: str) -> wasmtime.Module | None:
    payload = _compiled.load(key)
    if payload is None:
        return None
    try:
        return wasmtime.Module.deserialize(_engine(), payload)
    except wasmtime.WasmtimeError:
        return None  # from another engine build after all: compile again, overwrite


def _valtype(name: str) -> wasmtime.ValType:
    return wasmtime.ValType.i64() if name == "i64" else wasmtime.ValType.i32()


def _functype(signature: Signature) -> wasmtime.FuncType:
    return wasmtime.FuncType(
        [_valtype(p) for p in signature.params], [_valtype(r) for r in signature.results]
    )


def _frames(trap: wasmtime.Trap) -> tuple[str, ...]:
    out = []
    for frame in trap.frames or ():
        name = frame.func_name or f"func[{frame.func_index}]"
        module = frame.module_name or "module"
        out.append(f"{module}!{name} (offset 0x{frame.module_offset:x})")
    return tuple(out)


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if "wasm trap:" in line:
            return line.strip()
    return text.strip().splitlines()[0] if text.strip() else "trap"


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = DEFAULT_MEMORY_LIMIT
    fuel: int = DEFAULT_FUEL


class Guest:
    """One instantiated module with its own store: a VM in Envoy's terms."""

    def __init__(
        self,
        module: wasmtime.Module,
        host: Mapping[str, HostFunction],
        limits: Limits | None = None,
    ):
        """``host`` maps ``module.name`` (``env.proxy_log``) to a Python function."""
        self.limits = limits or Limits()
        self._host = host
        self._store = wasmtime.Store(_engine())
        self._store.set_limits(memory_size=self.limits.memory_bytes)
        self._store.set_fuel(self.limits.fuel)
        self._memory: wasmtime.Memory | None = None
        #: (base address, size) of the linear memory while the guest is paused in a host
        #: function; None once guest code may have run (it may have grown the memory).
        self._view: tuple[int, int] | None = None
        self._functions: dict[str, wasmtime.Func] = {}
        stack = _stack()
        stack.append(self)
        try:
            self._instance = _instance_pre(module).instantiate(self._store)
        except wasmtime.Trap as trap:
            raise GuestTrap(_first_line(str(trap)), _frames(trap)) from None
        except wasmtime.WasmtimeError as exc:
            raise GuestTrap(str(exc).strip().splitlines()[0]) from None
        except HostAbort as exc:
            raise GuestTrap(str(exc)) from None
        finally:
            stack.pop()
        self._exports = self._instance.exports(self._store)
        memory = self._exports.get("memory")
        self._memory = memory if isinstance(memory, wasmtime.Memory) else None
        for name, item in self._exports.items():
            if isinstance(item, wasmtime.Func):
                _fix_type(item, self._store)
                self._functions[name] = item

    def has(self, name: str) -> bool:
        return name in self._functions

    def call(self, name: str, *args: int) -> int | None:
        """Call an export with a fresh fuel budget; a trap of any kind becomes GuestTrap."""
        func = self._functions.get(name)
        if func is None:
            raise GuestTrap(f"the module does not export {name}")
        self._store.set_fuel(self.limits.fuel)
        self._view = None
        stack = _stack()
        stack.append(self)
        try:
            result = func(self._store, *args)
        except wasmtime.Trap as trap:
            raise GuestTrap(_first_line(str(trap)), _frames(trap)) from None
        except wasmtime.WasmtimeError as exc:
            raise GuestTrap(str(exc).strip().splitlines()[0]) from None
        except HostAbort as exc:
            raise GuestTrap(str(exc)) from None
        finally:
            stack.pop()
            self._view = None
        if isinstance(result, int):
            return result
        return None

    def call_nested(self, name: str, *args: int) -> int | None:
        """Call an export from inside a host function (the allocator): same fuel, same trap path."""
        func = self._functions.get(name)
        if func is None:
            raise HostAbort(f"the module does not export {name}")
        try:
            result = func(self._store, *args)
        finally:
            self._view = None
        return result if isinstance(result, int) else None

    def global_value(self, name: str) -> int | float | None:
        """The value of an exported global (filters keep counters in them; tests read them)."""
        item = self._exports.get(name)
        if not isinstance(item, wasmtime.Global):
            return None
        value = item.value(self._store)
        return value if isinstance(value, int | float) else None

    # --- memory -----------------------------------------------------------------------------
    # Reads and writes go straight to the linear memory (bounds checked here): wasmtime-py's
    # Memory.read/write ask the store for the size and base several times per call.
    @property
    def memory_size(self) -> int:
        return 0 if self._memory is None else int(self._memory.data_len(self._store))

    def _address(self, ptr: int, size: int) -> int:
        view = self._view
        if view is None:
            if self._memory is None:
                raise OutOfBounds("the module has no memory")
            view = self._view = (
                ctypes.addressof(self._memory.data_ptr(self._store).contents),
                self._memory.data_len(self._store),
            )
        if ptr + size > view[1]:
            raise OutOfBounds(f"{size} bytes at {ptr} are outside the guest's memory")
        return view[0] + ptr

    def read(self, ptr: int, size: int) -> bytes:
        ptr, size = ptr & 0xFFFFFFFF, size & 0xFFFFFFFF
        address = self._address(ptr, size)
        return ctypes.string_at(address, size) if size else b""

    def write(self, ptr: int, data: bytes) -> None:
        ptr = ptr & 0xFFFFFFFF
        address = self._address(ptr, len(data))
        if data:
            ctypes.memmove(address, data, len(data))


# --- one linker for every VM ------------------------------------------------------------
# Defining ~100 host functions costs milliseconds, so the linker is built once per process
# with functions that dispatch to the host table of the guest being called (a stack,
# since the host may call back into the guest: its allocator).
_SERVING = threading.local()
_LINKER: wasmtime.Linker | None = None
_PRES: dict[int, tuple[wasmtime.Module, wasmtime.InstancePre]] = {}


def _stack() -> list[Guest]:
    stack: list[Guest] | None = getattr(_SERVING, "stack", None)
    if stack is None:
        stack = _SERVING.stack = []
    return stack


def _dispatcher(key: str) -> Callable[..., int | None]:
    module, _, name = key.partition(".")
    fallback = _unimplemented(module, name)

    def dispatch(*args: int) -> int | None:
        guest = _stack()[-1]
        guest._view = None  # the guest ran since the last host call
        return guest._host.get(key, fallback)(*args)

    return dispatch


def _linker() -> wasmtime.Linker:
    global _LINKER
    with _LOCK:
        if _LINKER is None:
            linker = wasmtime.Linker(_engine())
            for module_name, functions in EVER_LINKED.items():
                for name, signature in functions.items():
                    key = f"{module_name}.{name}"
                    linker.define_func(module_name, name, _functype(signature), _dispatcher(key))
            _LINKER = linker
        return _LINKER


def _instance_pre(module: wasmtime.Module) -> wasmtime.InstancePre:
    linker = _linker()
    with _LOCK:
        cached = _PRES.get(id(module))
        if cached is None or cached[0] is not module:
            cached = (module, linker.instantiate_pre(module))
            _PRES[id(module)] = cached
        return cached[1]


class _FixedType:
    """A function's type, read once: wasmtime-py's ``Func.__call__`` asks the store for it
    (and builds its parameter and result lists) on every call, a third of a callback's cost."""

    __slots__ = ("params", "results")

    def __init__(self, ty: wasmtime.FuncType):
        self.params, self.results = ty.params, ty.results


def _fix_type(func: wasmtime.Func, store: wasmtime.Store) -> None:
    fixed = _FixedType(func.type(store))
    func.type = lambda _store: fixed  # type: ignore[method-assign,assignment,return-value]


def _unimplemented(module: str, name: str) -> HostFunction:
    def call(*_args: int) -> int:
        raise HostAbort(f"host function {module}.{name} is not implemented by the emulator")

    return call


def _fast_int_results() -> None:
    """wasmtime-py 50 converts every host-function result by allocating and comparing
    several ValType objects (~0.5 ms per call here); an int returned for an i32 or i64
    result takes a direct path. Anything else goes through wasmtime's own conversion."""
    original = wasmtime.Val._convert_to_raw.__func__  # type: ignore[attr-defined]
    i32, i64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()
    kinds: dict[int, tuple[object, str]] = {}

    def convert(cls: type, store: Any, ty: wasmtime.ValType, val: object) -> object:
        if type(val) is int:
            entry = kinds.get(id(ty))
            if entry is None or entry[0] is not ty:
                entry = (ty, "i32" if ty == i32 else "i64" if ty == i64 else "")
                kinds[id(ty)] = entry
            if entry[1] == "i32":
                return wasmtime.Val.i32(val)._new_raw(store)
            if entry[1] == "i64":
                return wasmtime.Val.i64(val)._new_raw(store)
        return original(cls, store, ty, val)

    wasmtime.Val._convert_to_raw = classmethod(convert)  # type: ignore[method-assign,assignment]


_fast_int_results()
