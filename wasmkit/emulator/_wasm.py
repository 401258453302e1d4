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
import wasmtime._func as _wasmtime_func
from wasmtime import _ffi
from wasmtime._func import enter_wasm

from wasmkit.emulator import _compiled
from wasmkit.errors import GuestTrap, HostAbort, OutOfBounds, WasmCompileError
from wasmkit.host import EVER_LINKED
from wasmkit.module import Signature

#: Linear memory a guest may reach (wasmtime refuses memory.grow beyond it: -1 to the guest).
DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024
#: Instructions (wasmtime fuel) per callback; a runaway loop traps instead of hanging the host.
DEFAULT_FUEL = 200_000_000

HostFunction = Callable[..., int | None]
_I32, _I64 = wasmtime.ValType.i32(), wasmtime.ValType.i64()


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


def _guest_trap(exc: Exception) -> GuestTrap:
    if isinstance(exc, wasmtime.Trap):
        return GuestTrap(_first_line(str(exc)), _frames(exc))
    if isinstance(exc, wasmtime.WasmtimeError):
        return GuestTrap(str(exc).strip().splitlines()[0])
    return GuestTrap(str(exc))


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
        self._functions: dict[str, _Export] = {}
        stack = _stack()
        stack.append(self)
        try:
            self._instance = _instance_pre(module).instantiate(self._store)
        except (wasmtime.Trap, wasmtime.WasmtimeError, HostAbort) as exc:
            raise _guest_trap(exc) from None
        finally:
            stack.pop()
        self._exports = self._instance.exports(self._store)
        memory = self._exports.get("memory")
        self._memory = memory if isinstance(memory, wasmtime.Memory) else None
        kinds = _export_kinds(module)
        for name, item in self._exports.items():
            if isinstance(item, wasmtime.Func):
                self._functions[name] = _Export(item, *kinds.get(name, (None, None, 0)))

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
            result = self._invoke(func, args)
        except (wasmtime.Trap, wasmtime.WasmtimeError, HostAbort) as exc:
            raise _guest_trap(exc) from None
        finally:
            stack.pop()
            self._view = None
        return result

    def call_nested(self, name: str, *args: int) -> int | None:
        """Call an export from inside a host function (the allocator): same fuel, same trap path."""
        func = self._functions.get(name)
        if func is None:
            raise HostAbort(f"the module does not export {name}")
        try:
            return self._invoke(func, args)
        finally:
            self._view = None

    def _invoke(self, export: _Export, args: tuple[int, ...]) -> int | None:
        """Call with raw values (wasmtime's unchecked call: the types were read once)."""
        if export.params is None:  # a type beyond i32/i64: wasmtime-py's checked call
            result = export.func(self._store, *args)
            return result if isinstance(result, int) else None
        if len(args) != len(export.params):
            raise wasmtime.WasmtimeError(f"{len(args)} arguments for {len(export.params)} params")
        values = (_RAW * export.width)()
        for i, (wide, arg) in enumerate(zip(export.params, args, strict=True)):
            if wide:
                values[i].i64 = arg
            else:
                values[i].i32 = arg
        with enter_wasm(self._store) as trap:
            error = _ffi.wasmtime_func_call_unchecked(
                self._store._context(), ctypes.byref(export.func._func), values, export.width, trap
            )
            if error:
                raise wasmtime.WasmtimeError._from_ptr(error)
        if export.result is None:
            return None
        return int(values[0].i64 if export.result else values[0].i32)

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


#: Host functions by the index wasmtime hands back: (key, i64 per param, i64 result or
#: None for none, what answers when the guest's host table lacks the key).
_HOST: dict[int, tuple[str, tuple[bool, ...], bool | None, HostFunction]] = {}


@_ffi.wasmtime_func_unchecked_callback_t  # type: ignore[untyped-decorator]
def _trampoline(env: int, _caller: object, values: Any, _count: int) -> int:
    """Every host call: raw values in and out (wasmtime-py's own trampoline builds a Caller
    and a Val per argument). An exception goes back to the Python caller as wasmtime's does."""
    try:
        key, params, result, fallback = _HOST[env]
        args = [values[i].i64 if wide else values[i].i32 for i, wide in enumerate(params)]
        guest = _stack()[-1]
        guest._view = None  # the guest ran since the last host call
        out = guest._host.get(key, fallback)(*args)
        if result is None:
            if out is not None:
                raise wasmtime.WasmtimeError(f"{key} returned a value it has no result for")
        elif result:
            values[0].i64 = out
        else:
            values[0].i32 = out
        return 0
    except BaseException as exc:  # re-raised by enter_wasm in the caller
        _wasmtime_func.LAST_EXCEPTION = exc  # type: ignore[assignment]  # as wasmtime-py does
        trap = wasmtime.Trap("python exception")._consume()
        return int(ctypes.cast(trap, ctypes.c_void_p).value or 0)


def _linker() -> wasmtime.Linker:
    global _LINKER
    with _LOCK:
        if _LINKER is None:
            linker = wasmtime.Linker(_engine())
            no_finalizer = ctypes.CFUNCTYPE(None, ctypes.c_void_p)()
            for module_name, functions in EVER_LINKED.items():
                for name, signature in functions.items():
                    index = len(_HOST) + 1
                    result = signature.results[0] == "i64" if signature.results else None
                    params = tuple(p == "i64" for p in signature.params)
                    key = f"{module_name}.{name}"
                    _HOST[index] = (key, params, result, _unimplemented(module_name, name))
                    module_bytes, name_bytes = module_name.encode(), name.encode()
                    functype = _functype(signature)  # alive until wasmtime copied it
                    error = _ffi.wasmtime_linker_define_func_unchecked(
                        linker.ptr(),
                        ctypes.create_string_buffer(module_bytes),
                        len(module_bytes),
                        ctypes.create_string_buffer(name_bytes),
                        len(name_bytes),
                        functype.ptr(),
                        _trampoline,
                        index,
                        no_finalizer,
                    )
                    if error:
                        raise wasmtime.WasmtimeError._from_ptr(error)
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


_RAW = _ffi.wasmtime_val_raw_t


@dataclass(frozen=True)
class _Export:
    """An exported function and its type, read once (wasmtime-py asks the store on every call).
    ``params``: i64 per parameter, None if a type is neither i32 nor i64."""

    func: wasmtime.Func
    params: tuple[bool, ...] | None
    result: bool | None
    width: int


Kinds = tuple[tuple[bool, ...] | None, bool | None, int]
_KINDS: dict[int, tuple[wasmtime.Module, dict[str, Kinds]]] = {}


def _export_kinds(module: wasmtime.Module) -> dict[str, Kinds]:
    """Each exported function's (params, result, width), read once per module: every VM of a
    module (a new one after each trap under FAIL_RELOAD) has the same."""
    with _LOCK:
        cached = _KINDS.get(id(module))
        if cached is not None and cached[0] is module:
            return cached[1]
    found: dict[str, Kinds] = {}
    for export in module.exports:
        ty = export.type
        if not isinstance(ty, wasmtime.FuncType):
            continue
        wide = [_wide(t) for t in (*ty.params, *ty.results)]
        if None in wide or len(ty.results) > 1:
            found[export.name] = (None, None, 0)
            continue
        params = tuple(bool(k) for k in wide[: len(ty.params)])
        result = bool(wide[-1]) if ty.results else None
        found[export.name] = (params, result, max(len(ty.params), len(ty.results)))
    with _LOCK:
        _KINDS[id(module)] = (module, found)
    return found


def _wide(ty: wasmtime.ValType) -> bool | None:
    return False if ty == _I32 else True if ty == _I64 else None


def _unimplemented(module: str, name: str) -> HostFunction:
    def call(*_args: int) -> int:
        raise HostAbort(f"host function {module}.{name} is not implemented by the emulator")

    return call
