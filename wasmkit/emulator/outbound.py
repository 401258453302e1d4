"""Host functions that reach beyond the stream: shared data and queues, HTTP calls (gRPC
calls in :mod:`wasmkit.emulator.grpc`), and metrics (what a test most wants to observe)."""

from __future__ import annotations

from wasmkit.codes import MetricType, Status
from wasmkit.emulator.context import HttpCall
from wasmkit.emulator.grpc import GrpcCalls
from wasmkit.emulator.serial import host_pairs, u32, u64


class OutboundCalls(GrpcCalls):
    # --- shared data and queues ---------------------------------------------------------------
    def proxy_get_shared_data(
        self, key_ptr: int, key_size: int, ptr_ptr: int, size_ptr: int, cas_ptr: int
    ) -> int:
        entry = self.vm.world.shared.get(self.vm.vm_id, self._text(key_ptr, key_size))
        if entry is None:
            return Status.NOT_FOUND
        self.vm.guest.write(cas_ptr, u32(entry[1]))
        return self._give(entry[0], ptr_ptr, size_ptr)

    def proxy_set_shared_data(
        self, key_ptr: int, key_size: int, ptr: int, size: int, cas: int
    ) -> int:
        key, value = self._text(key_ptr, key_size), self._read(ptr, size)
        return self.vm.world.shared.set(self.vm.vm_id, key, value, cas & 0xFFFFFFFF)

    def proxy_register_shared_queue(self, name_ptr: int, name_size: int, token_ptr: int) -> int:
        self.vm.guest.read(token_ptr, 4)
        token = self.vm.world.shared.register_queue(
            self.vm.vm_id, self._text(name_ptr, name_size), self.vm.queue_ready
        )
        self.vm.guest.write(token_ptr, u32(token))
        return Status.OK

    def proxy_resolve_shared_queue(
        self, vm_ptr: int, vm_size: int, name_ptr: int, name_size: int, token_ptr: int
    ) -> int:
        vm_id = self._text(vm_ptr, vm_size) or self.vm.vm_id
        token = self.vm.world.shared.resolve_queue(vm_id, self._text(name_ptr, name_size))
        if token is None:
            return Status.NOT_FOUND
        self.vm.guest.write(token_ptr, u32(token))
        return Status.OK

    def proxy_dequeue_shared_queue(self, token: int, ptr_ptr: int, size_ptr: int) -> int:
        status, data = self.vm.world.shared.dequeue(token)
        if status is not Status.OK:
            return status
        return self._give(data, ptr_ptr, size_ptr)

    def proxy_enqueue_shared_queue(self, token: int, ptr: int, size: int) -> int:
        return self.vm.world.shared.enqueue(token, self._read(ptr, size))

    # --- outgoing calls ----------------------------------------------------------------------
    def proxy_http_call(
        self,
        cluster_ptr: int,
        cluster_size: int,
        headers_ptr: int,
        headers_size: int,
        body_ptr: int,
        body_size: int,
        trailers_ptr: int,
        trailers_size: int,
        timeout_ms: int,
        token_ptr: int,
    ) -> int:
        self.vm.guest.read(token_ptr, 4)
        headers = tuple(
            (k.lower(), v) for k, v in host_pairs(self._read(headers_ptr, headers_size))
        )
        names = {k for k, _ in headers}
        if not {":path", ":method"} <= names or not ({":authority", "host"} & names):
            return Status.BAD_ARGUMENT  # Envoy requires :method, :path and :authority
        call = HttpCall(
            token=self.vm.next_token(),
            # Envoy (proxy-wasm-cpp-host) makes every call on the root context and answers
            # it with the root's id; the SDKs find the stream by the token.
            context_id=self.vm.root.id,
            cluster=self._text(cluster_ptr, cluster_size),
            headers=headers,
            body=self._read(body_ptr, body_size),
            trailers=tuple(host_pairs(self._read(trailers_ptr, trailers_size))),
            timeout_ms=timeout_ms & 0xFFFFFFFF,
        )
        if not self.vm.issue_http_call(call):
            return Status.BAD_ARGUMENT  # no such cluster
        self.vm.guest.write(token_ptr, u32(call.token))
        return Status.OK

    # --- metrics ---------------------------------------------------------------------------------
    def proxy_define_metric(self, kind: int, name_ptr: int, name_size: int, id_ptr: int) -> int:
        if kind not in (0, 1, 2):
            return Status.BAD_ARGUMENT
        self.vm.guest.read(id_ptr, 4)
        metric_id = self.vm.world.metrics.define(MetricType(kind), self._text(name_ptr, name_size))
        self.vm.guest.write(id_ptr, u32(metric_id))
        return Status.OK

    def proxy_increment_metric(self, metric_id: int, delta: int) -> int:
        return self.vm.world.metrics.increment(metric_id, delta)

    def proxy_record_metric(self, metric_id: int, value: int) -> int:
        return self.vm.world.metrics.record(metric_id, value & 0xFFFFFFFFFFFFFFFF)

    def proxy_get_metric(self, metric_id: int, value_ptr: int) -> int:
        metric = self.vm.world.metrics.get(metric_id)
        if isinstance(metric, Status):
            return metric
        if metric.type is MetricType.HISTOGRAM:
            return Status.BAD_ARGUMENT
        self.vm.guest.write(value_ptr, u64(metric.value))
        return Status.OK
