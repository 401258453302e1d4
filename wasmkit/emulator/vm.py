"""One VM: a module instance, its root context, and the callbacks Envoy makes into it.

Start-up follows Envoy (proxy-wasm-cpp-host): parse, check the ABI marker, link
the imports, find the allocator, run ``_initialize``/``main`` or ``_start``, create
the root context, ``proxy_on_vm_start``, ``proxy_on_configure``. A failure at any
step is a :class:`LoadFailure` carrying the words Envoy logs for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from wasmkit.emulator._wasm import Guest, Limits, compile_module
from wasmkit.emulator.context import Context, HttpCall, HttpCallResponse, Responder, no_clusters
from wasmkit.emulator.grpc import GrpcResponder, GrpcState, deliver_next, no_grpc_clusters
from wasmkit.emulator.hostcalls import HostCalls
from wasmkit.emulator.properties import (
    ConnectionInfo,
    Missing,
    PluginInfo,
    StreamFacts,
    encode,
    static_properties,
    stream_property,
)
from wasmkit.emulator.wasi import Wasi
from wasmkit.emulator.world import World
from wasmkit.errors import GuestTrap, LoadFailure, WasmCompileError
from wasmkit.loadcheck import envoy_refusal
from wasmkit.module import ModuleInfo


class Vm:
    def __init__(
        self,
        data: bytes,
        info: ModuleInfo,
        *,
        world: World,
        plugin: PluginInfo,
        plugin_configuration: bytes = b"",
        vm_configuration: bytes = b"",
        responder: Responder = no_clusters,
        grpc_responder: GrpcResponder = no_grpc_clusters,
        limits: Limits | None = None,
        connection: ConnectionInfo | None = None,
    ):
        self.data, self.info, self.world, self.plugin = data, info, world, plugin
        self.vm_id = plugin.vm_id
        self.plugin_configuration = plugin_configuration
        self.vm_configuration = vm_configuration
        self.responder = responder
        self.limits = limits or Limits()
        self.connection = connection or ConnectionInfo()
        self.root = Context(id=1, root=True)
        self.contexts: dict[int, Context] = {1: self.root}
        self.effective: Context = self.root
        self._next_context = 2
        self._next_token = 0
        self.tick_period_ms = 0
        self.http_response: HttpCallResponse | None = None
        #: Every HTTP call the guest made, in order.
        self.http_calls: list[HttpCall] = []
        self._pending_calls: list[tuple[HttpCall, HttpCallResponse]] = []
        self.grpc = GrpcState(grpc_responder)
        self._ready_queues: list[int] = []
        self._guest: Guest | None = None
        self._static = static_properties(plugin, self.connection)

    @property
    def guest(self) -> Guest:
        if self._guest is None:
            raise GuestTrap("the VM has not started")
        return self._guest

    # --- start-up --------------------------------------------------------------------------
    def start(self) -> None:
        try:
            module = compile_module(self.data)
        except WasmCompileError as exc:
            raise LoadFailure("Failed to parse corrupted Wasm module", str(exc)) from None
        problem = envoy_refusal(self.info)
        if problem is not None:
            raise LoadFailure(problem)
        host = {**HostCalls(self).table(), **Wasi(self).table()}
        try:
            self._guest = Guest(module, host, self.limits)
            for entry in ("_initialize", "main", "_start"):
                if entry == "main" and not self.guest.has("_initialize"):
                    continue
                if entry == "_start" and self.guest.has("_initialize"):
                    continue
                if self.guest.has(entry):
                    self._call(entry, 0, 0) if entry == "main" else self._call(entry)
            self._call("proxy_on_context_create", self.root.id, 0)
        except GuestTrap as trap:
            raise LoadFailure("Failed to start base Wasm module", trap.describe()) from None
        try:
            started = self._call("proxy_on_vm_start", self.root.id, len(self.vm_configuration))
        except GuestTrap as trap:
            raise LoadFailure("Failed to start base Wasm module", trap.describe()) from None
        if started == 0:
            raise LoadFailure("Failed to start base Wasm module")
        try:
            configured = self._call(
                "proxy_on_configure", self.root.id, len(self.plugin_configuration)
            )
            self.drain()
        except GuestTrap as trap:
            raise LoadFailure("Failed to configure base Wasm plugin", trap.describe()) from None
        if configured == 0:
            raise LoadFailure("Failed to configure base Wasm plugin")

    # --- calls into the guest -------------------------------------------------------------
    def _call(self, name: str, *args: int) -> int | None:
        """Call an export if the module has it, with as many arguments as it takes
        (0.1.0 header callbacks have no end_of_stream)."""
        signature = self.info.export_signatures.get(name)
        if signature is None:
            return None
        return self.guest.call(name, *args[: len(signature.params)])

    @contextmanager
    def acting(self, ctx: Context) -> Iterator[None]:
        previous = self.effective
        self.effective = ctx
        try:
            yield
        finally:
            self.effective = previous

    def callback(self, ctx: Context, name: str, *args: int) -> int | None:
        """A callback on ``ctx`` (its id is the first argument); GuestTrap propagates."""
        previous, self.effective = self.effective, ctx  # acting(ctx), minus a generator
        try:
            return self._call(name, ctx.id, *args)
        finally:
            self.effective = previous

    def has(self, name: str) -> bool:
        return name in self.info.export_signatures

    def allocate(self, size: int) -> int:
        assert self.info.allocator is not None
        return self.guest.call_nested(self.info.allocator, size) or 0

    def new_context(self, start_ns: int) -> Context:
        ctx = Context(id=self._next_context, start_ns=start_ns)
        self._next_context += 1
        self.contexts[ctx.id] = ctx
        with self.acting(ctx):
            self._call("proxy_on_context_create", ctx.id, self.root.id)
        return ctx

    def finish(self, ctx: Context) -> None:
        """End of stream: log, done, delete (what Envoy calls when a stream closes)."""
        self.callback(ctx, "proxy_on_log")
        self.callback(ctx, "proxy_on_done")
        self.callback(ctx, "proxy_on_delete")
        self.contexts.pop(ctx.id, None)

    def set_effective(self, context_id: int) -> bool:
        ctx = self.contexts.get(context_id)
        if ctx is None:
            return False
        self.effective = ctx
        return True

    def tick(self) -> None:
        self.callback(self.root, "proxy_on_tick")
        self.drain()

    # --- asynchronous work: HTTP call answers and queue wake-ups --------------------------------
    def next_token(self) -> int:
        self._next_token += 1
        return self._next_token

    def issue_http_call(self, call: HttpCall) -> bool:
        response = self.responder(call)
        if response is None:
            return False
        self.http_calls.append(call)
        self._pending_calls.append((call, response))
        return True

    def _root_callback(self, name: str, *args: int) -> None:
        self.callback(self.root, name, *args)

    def queue_ready(self, token: int) -> None:
        self._ready_queues.append(token)

    def drain(self) -> None:
        """Deliver answers to HTTP and gRPC calls and queue wake-ups until none are left."""
        while self._pending_calls or self._ready_queues or self.grpc.ready():
            if self.grpc.ready():
                deliver_next(self.grpc, self._root_callback)
            elif self._pending_calls:
                call, response = self._pending_calls.pop(0)
                ctx = self.contexts.get(call.context_id)
                if ctx is None:
                    continue
                self.http_response = response
                try:
                    self.callback(
                        ctx,
                        "proxy_on_http_call_response",
                        call.token,
                        len(response.header_pairs()),
                        0 if response.timeout else len(response.body),
                        len(response.trailers),
                    )
                finally:
                    self.http_response = None
            else:
                self.callback(self.root, "proxy_on_queue_ready", self._ready_queues.pop(0))

    # --- properties ----------------------------------------------------------------------------
    def property(self, path: tuple[str, ...]) -> bytes | None:
        for ctx in (self.effective, self.root):
            if path in ctx.properties:
                return ctx.properties[path]
        if path in self.world.properties:
            return self.world.properties[path]
        # A test writes its paths dotted, so a segment that holds dots (a filter's metadata
        # namespace, envoy.filters.http.lua) matches when the joined paths agree.
        dotted = ".".join(path)
        given = next((v for p, v in self.world.properties.items() if ".".join(p) == dotted), None)
        if given is not None:
            return given
        ctx = self.effective
        if not ctx.root:
            facts = StreamFacts(
                ctx.request_headers or [],
                ctx.response_headers or [],
                len(ctx.request_body or b""),
                len(ctx.response_body or b""),
                ctx.start_ns,
                ctx.details,
                local_reply=ctx.local_reply is not None,
            )
            value = stream_property(facts, path)
            if not isinstance(value, Missing):
                return None if value is None else encode(value)
            if len(path) == 3:
                # A key of a map attribute: request.headers.<name> (values joined by ",").
                pairs = stream_property(facts, path[:2])
                if isinstance(pairs, list):
                    values = [v for k, v in pairs if k == path[2].lower()]
                    return ",".join(values).encode() if values else None
        value = self._static.get(path)
        return None if value is None else encode(value)

    def log(self, level: int, message: str) -> None:
        self.world.log(level, message, self.vm_id, self.effective.id)
