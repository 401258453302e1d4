"""The ``env`` host functions of proxy-wasm, as Envoy answers them.

Every function gets raw i32/i64 arguments from the guest. Pointers are checked
against the guest's memory: a bad one makes the call return
InvalidMemoryAccess, as in Envoy, and never reaches Python's memory. Values
handed back to the guest are allocated with the guest's own allocator.
"""

from __future__ import annotations

from collections.abc import Callable

from wasmkit.codes import LOG_LEVELS, BufferType, MapType, Status
from wasmkit.emulator._wasm import HostFunction
from wasmkit.emulator.context import LocalReply
from wasmkit.emulator.outbound import OutboundCalls
from wasmkit.emulator.serial import Pairs, encode_pairs, host_pairs, split_path, u32, u64
from wasmkit.errors import DecodeError, OutOfBounds


def _guarded(fn: Callable[..., int]) -> Callable[..., int]:
    def call(*args: int) -> int:
        try:
            return int(fn(*args))
        except OutOfBounds:
            return int(Status.INVALID_MEMORY_ACCESS)
        except (DecodeError, UnicodeDecodeError):
            return int(Status.BAD_ARGUMENT)

    return call


def _ignore(*_args: int) -> None:
    return None


class HostCalls(OutboundCalls):
    """Every ``env`` function; ``table()`` maps ``env.<name>`` to a guarded callable."""

    def table(self) -> dict[str, HostFunction]:
        out: dict[str, HostFunction] = {
            f"env.{name}": _guarded(getattr(self, name)) for name in _NAMES
        }
        # Emscripten-built modules report memory growth; Envoy ignores it, so do we.
        out["env.emscripten_notify_memory_growth"] = _ignore
        return out

    def _map(self, kind: int) -> Pairs | None:
        ctx = self._ctx
        if kind == MapType.REQUEST_HEADERS:
            return ctx.request_headers
        if kind == MapType.REQUEST_TRAILERS:
            return ctx.request_trailers
        if kind == MapType.RESPONSE_HEADERS:
            return ctx.response_headers
        if kind == MapType.RESPONSE_TRAILERS:
            return ctx.response_trailers
        metadata = self.vm.grpc.metadata
        if metadata is not None and kind == metadata[0]:
            return list(metadata[1])
        response = self.vm.http_response
        if response is not None and kind == MapType.HTTP_CALL_RESPONSE_HEADERS:
            return response.header_pairs()
        if response is not None and kind == MapType.HTTP_CALL_RESPONSE_TRAILERS:
            return list(response.trailers)
        return None

    def _set_map(self, kind: int, pairs: Pairs) -> bool:
        ctx = self._ctx
        names = {
            MapType.REQUEST_HEADERS: "request_headers",
            MapType.REQUEST_TRAILERS: "request_trailers",
            MapType.RESPONSE_HEADERS: "response_headers",
            MapType.RESPONSE_TRAILERS: "response_trailers",
        }
        attr = names.get(kind)  # type: ignore[call-overload]
        if attr is None or getattr(ctx, attr) is None:
            return False
        setattr(ctx, attr, pairs)
        return True

    def _buffer(self, kind: int) -> bytes | bytearray | None:
        ctx = self._ctx
        # A stream's bodies exist (empty) before they arrive; Envoy answers Ok with no bytes.
        if kind == BufferType.HTTP_REQUEST_BODY and not ctx.root:
            if ctx.request_body is None:
                ctx.request_body = bytearray()
            return ctx.request_body
        if kind == BufferType.HTTP_RESPONSE_BODY and not ctx.root:
            if ctx.response_body is None:
                ctx.response_body = bytearray()
            return ctx.response_body
        if kind == BufferType.HTTP_CALL_RESPONSE_BODY:
            response = self.vm.http_response
            return response.body if response is not None else None
        if kind == BufferType.GRPC_RECEIVE_BUFFER:
            return self.vm.grpc.receiving
        if kind == BufferType.VM_CONFIGURATION:
            return self.vm.vm_configuration
        if kind == BufferType.PLUGIN_CONFIGURATION and ctx.root:
            return self.vm.plugin_configuration
        return None

    # --- logging, time, context ----------------------------------------------------------
    def proxy_log(self, level: int, ptr: int, size: int) -> int:
        if not 0 <= level < len(LOG_LEVELS):
            return Status.BAD_ARGUMENT
        self.vm.log(level, self._text(ptr, size))
        return Status.OK

    def proxy_get_log_level(self, ret_ptr: int) -> int:
        self.vm.guest.write(ret_ptr, u32(LOG_LEVELS.index(self.vm.world.log_level)))
        return Status.OK

    def proxy_get_status(self, code_ptr: int, msg_ptr_ptr: int, msg_size_ptr: int) -> int:
        # Envoy's status is the gRPC failure being delivered (proxy_on_grpc_close), else 0.
        code, message = self.vm.grpc.closing or (0, "")
        self.vm.guest.write(code_ptr, u32(code))
        return self._give(message.encode(), msg_ptr_ptr, msg_size_ptr)

    def proxy_set_effective_context(self, context_id: int) -> int:
        return Status.OK if self.vm.set_effective(context_id) else Status.BAD_ARGUMENT

    def proxy_done(self) -> int:
        return Status.OK

    def proxy_call_foreign_function(self, *_args: int) -> int:
        return Status.NOT_FOUND

    def proxy_get_current_time_nanoseconds(self, ret_ptr: int) -> int:
        self.vm.guest.write(ret_ptr, u64(self.vm.world.clock.now_ns()))
        return Status.OK

    def proxy_set_tick_period_milliseconds(self, period: int) -> int:
        self.vm.tick_period_ms = period & 0xFFFFFFFF
        return Status.OK

    def proxy_get_buffer_bytes(
        self, kind: int, start: int, length: int, ptr_ptr: int, size_ptr: int
    ) -> int:
        buffer = self._buffer(kind)
        if buffer is None:
            return Status.NOT_FOUND
        start, length = start & 0xFFFFFFFF, length & 0xFFFFFFFF
        if start > len(buffer):
            return Status.BAD_ARGUMENT
        length = min(length, len(buffer) - start)
        if length == 0:
            return Status.OK
        return self._give(bytes(buffer[start : start + length]), ptr_ptr, size_ptr)

    def proxy_get_configuration(self, ptr_ptr: int, size_ptr: int) -> int:
        """ABI 0.1.0's way to read the plugin configuration (linked only for 0.1.0 modules)."""
        return self._give(bytes(self.vm.plugin_configuration), ptr_ptr, size_ptr)

    def proxy_set_buffer_bytes(
        self, kind: int, start: int, length: int, data_ptr: int, data_size: int
    ) -> int:
        buffer = self._buffer(kind)
        if not isinstance(buffer, bytearray):
            return Status.NOT_FOUND if buffer is None else Status.BAD_ARGUMENT
        data = self._read(data_ptr, data_size)
        start, length = start & 0xFFFFFFFF, length & 0xFFFFFFFF
        # Envoy: start 0 drops the first `length` bytes and prepends the data (length 0
        # prepends); start at or past the end appends; anything else is refused.
        if start == 0:
            del buffer[:length]
            buffer[0:0] = data
        elif start >= len(buffer):
            buffer.extend(data)
        else:
            return Status.BAD_ARGUMENT
        return Status.OK

    def proxy_get_buffer_status(self, kind: int, length_ptr: int, flags_ptr: int) -> int:
        buffer = self._buffer(kind)
        if buffer is None:
            return Status.NOT_FOUND
        self.vm.guest.write(length_ptr, u32(len(buffer)))
        complete = (kind == BufferType.HTTP_REQUEST_BODY and self._ctx.request_complete) or (
            kind == BufferType.HTTP_RESPONSE_BODY and self._ctx.response_complete
        )
        self.vm.guest.write(flags_ptr, u32(1 if complete else 0))
        return Status.OK

    # --- header maps -------------------------------------------------------------------------
    def proxy_get_header_map_pairs(self, kind: int, ptr_ptr: int, size_ptr: int) -> int:
        pairs = self._map(kind)
        if pairs is None:
            return Status.BAD_ARGUMENT
        return self._give(encode_pairs(pairs), ptr_ptr, size_ptr)

    def proxy_set_header_map_pairs(self, kind: int, ptr: int, size: int) -> int:
        pairs = [(k.lower(), v) for k, v in host_pairs(self._read(ptr, size))]
        return Status.OK if self._set_map(kind, pairs) else Status.BAD_ARGUMENT

    def proxy_get_header_map_value(
        self, kind: int, key_ptr: int, key_size: int, ptr_ptr: int, size_ptr: int
    ) -> int:
        pairs = self._map(kind)
        if pairs is None:
            return Status.BAD_ARGUMENT
        key = self._text(key_ptr, key_size).lower()
        value = next((v for k, v in pairs if k == key), None)
        if value is None:
            return Status.NOT_FOUND
        return self._give(value.encode(), ptr_ptr, size_ptr)

    def proxy_replace_header_map_value(
        self, kind: int, key_ptr: int, key_size: int, value_ptr: int, value_size: int
    ) -> int:
        pairs = self._map(kind)
        key = self._text(key_ptr, key_size).lower()
        value = self._text(value_ptr, value_size)
        if pairs is None:
            return Status.BAD_ARGUMENT
        kept = [(k, v) for k, v in pairs if k != key]
        index = next((i for i, (k, _) in enumerate(pairs) if k == key), len(pairs))
        kept.insert(min(index, len(kept)), (key, value))
        return Status.OK if self._set_map(kind, kept) else Status.BAD_ARGUMENT

    def proxy_add_header_map_value(
        self, kind: int, key_ptr: int, key_size: int, value_ptr: int, value_size: int
    ) -> int:
        pairs = self._map(kind)
        key = self._text(key_ptr, key_size).lower()
        value = self._text(value_ptr, value_size)
        if pairs is None or not self._set_map(kind, [*pairs, (key, value)]):
            return Status.BAD_ARGUMENT
        return Status.OK

    def proxy_remove_header_map_value(self, kind: int, key_ptr: int, key_size: int) -> int:
        pairs = self._map(kind)
        key = self._text(key_ptr, key_size).lower()
        if pairs is None or not self._set_map(kind, [(k, v) for k, v in pairs if k != key]):
            return Status.BAD_ARGUMENT
        return Status.OK

    def proxy_get_header_map_size(self, kind: int, size_ptr: int) -> int:
        pairs = self._map(kind)
        if pairs is None:
            return Status.BAD_ARGUMENT
        self.vm.guest.write(size_ptr, u32(sum(len(k) + len(v) for k, v in pairs)))
        return Status.OK

    # --- properties ----------------------------------------------------------------------------
    def proxy_get_property(self, path_ptr: int, path_size: int, ptr_ptr: int, size_ptr: int) -> int:
        value = self.vm.property(split_path(self._read(path_ptr, path_size)))
        if value is None:
            return Status.NOT_FOUND
        return self._give(value, ptr_ptr, size_ptr)

    def proxy_set_property(
        self, path_ptr: int, path_size: int, value_ptr: int, value_size: int
    ) -> int:
        path = split_path(self._read(path_ptr, path_size))
        self._ctx.properties[path] = self._read(value_ptr, value_size)
        return Status.OK

    # --- stream control -----------------------------------------------------------------------
    def proxy_send_local_response(
        self,
        status: int,
        details_ptr: int,
        details_size: int,
        body_ptr: int,
        body_size: int,
        headers_ptr: int,
        headers_size: int,
        grpc_status: int,
    ) -> int:
        ctx = self._ctx
        if ctx.root:
            return Status.BAD_ARGUMENT
        reply = LocalReply(
            status=status,
            details=self._text(details_ptr, details_size),
            body=self._read(body_ptr, body_size),
            headers=tuple(
                (k.lower(), v) for k, v in host_pairs(self._read(headers_ptr, headers_size))
            ),
            grpc_status=grpc_status,
        )
        if ctx.local_reply is None:
            ctx.local_reply = reply
        return Status.OK

    def proxy_continue_stream(self, stream: int) -> int:
        if stream not in (0, 1):
            return Status.BAD_ARGUMENT
        self._ctx.resumed.add(stream)
        return Status.OK

    def proxy_close_stream(self, stream: int) -> int:
        self._ctx.closed = True
        return Status.OK


#: Built for every VM, so the names are read from the class once (dir() is slow).
_NAMES = tuple(name for name in dir(HostCalls) if name.startswith("proxy_"))
