"""What a proxy shares between its VMs: metrics, shared data, shared queues, logs, time.

One :class:`World` stands for one Envoy process. Every VM started in it (one per
filter variant, a fresh one after FAIL_RELOAD) sees the same metrics and shared
data, as worker VMs do in Envoy.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from wasmkit.codes import LOG_LEVELS, MetricType, Status


@dataclass(frozen=True)
class LogLine:
    level: str  # trace debug info warn error critical
    message: str
    vm_id: str = ""
    context_id: int = 0


@dataclass
class Metric:
    name: str
    type: MetricType
    value: int = 0
    samples: list[int] = field(default_factory=list)


class Metrics:
    """Counters, gauges and histograms by id, as ``proxy_define_metric`` hands them out."""

    def __init__(self) -> None:
        self._by_id: dict[int, Metric] = {}
        self._by_name: dict[tuple[MetricType, str], int] = {}

    def define(self, kind: MetricType, name: str) -> int:
        key = (kind, name)
        if key not in self._by_name:
            # Envoy's ids encode the type in the low bits; only uniqueness matters to a guest.
            metric_id = (len(self._by_id) + 1) * 4 + int(kind)
            self._by_name[key] = metric_id
            self._by_id[metric_id] = Metric(name, kind)
        return self._by_name[key]

    def get(self, metric_id: int) -> Metric | Status:
        return self._find(metric_id)

    def _find(self, metric_id: int) -> Metric | Status:
        # The low two bits of an id are its type (as in Envoy): 3 is no type at all.
        if metric_id & 3 == 3:
            return Status.BAD_ARGUMENT
        return self._by_id.get(metric_id) or Status.NOT_FOUND

    def increment(self, metric_id: int, delta: int) -> Status:
        metric = self._find(metric_id)
        if isinstance(metric, Status):
            return metric
        if metric.type is MetricType.HISTOGRAM:
            return Status.BAD_ARGUMENT
        if metric.type is MetricType.COUNTER and delta < 0:
            return Status.BAD_ARGUMENT
        metric.value += delta
        return Status.OK

    def record(self, metric_id: int, value: int) -> Status:
        metric = self._find(metric_id)
        if isinstance(metric, Status):
            return metric
        if metric.type is MetricType.HISTOGRAM:
            metric.samples.append(value)
        else:
            metric.value = value
        return Status.OK

    def snapshot(self) -> dict[str, int]:
        """Counters and gauges by name; a histogram by its number of samples."""
        out: dict[str, int] = {}
        for metric in self._by_id.values():
            out[metric.name] = (
                len(metric.samples) if metric.type is MetricType.HISTOGRAM else metric.value
            )
        return out

    def histogram(self, name: str) -> list[int]:
        metric_id = self._by_name.get((MetricType.HISTOGRAM, name))
        return list(self._by_id[metric_id].samples) if metric_id is not None else []


@dataclass
class _Queue:
    vm_id: str
    name: str
    items: deque[bytes] = field(default_factory=deque)
    #: Called when an item is enqueued: wakes the owning VM (proxy_on_queue_ready).
    notify: Callable[[int], None] | None = None


class SharedState:
    """``proxy_{get,set}_shared_data`` with compare-and-swap, and the shared queues.

    As in Envoy, data is per VM id: variants (distinct vm_ids) do not see each other's.
    """

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], tuple[bytes, int]] = {}
        self._queues: dict[int, _Queue] = {}
        self._queue_ids: dict[tuple[str, str], int] = {}

    def get(self, vm_id: str, key: str) -> tuple[bytes, int] | None:
        return self._data.get((vm_id, key))

    def set(self, vm_id: str, key: str, value: bytes, cas: int) -> Status:
        current = self._data.get((vm_id, key))
        if cas != 0 and current is not None and current[1] != cas:
            return Status.CAS_MISMATCH
        next_cas = (current[1] + 1) if current is not None else 1
        self._data[(vm_id, key)] = (value, next_cas)
        return Status.OK

    def register_queue(self, vm_id: str, name: str, notify: Callable[[int], None]) -> int:
        key = (vm_id, name)
        token = self._queue_ids.get(key)
        if token is None:
            token = len(self._queue_ids) + 1
            self._queue_ids[key] = token
            self._queues[token] = _Queue(vm_id, name)
        self._queues[token].notify = notify
        return token

    def resolve_queue(self, vm_id: str, name: str) -> int | None:
        return self._queue_ids.get((vm_id, name))

    def enqueue(self, token: int, data: bytes) -> Status:
        queue = self._queues.get(token)
        if queue is None:
            return Status.NOT_FOUND
        queue.items.append(data)
        if queue.notify is not None:
            queue.notify(token)
        return Status.OK

    def dequeue(self, token: int) -> tuple[Status, bytes]:
        queue = self._queues.get(token)
        if queue is None:
            return Status.NOT_FOUND, b""
        if not queue.items:
            return Status.EMPTY, b""
        return Status.OK, queue.items.popleft()


class Clock:
    """Wall time for the guest; tests may pin it (``now_ns``) to make filters deterministic."""

    def __init__(self, now_ns: int | None = None):
        self.fixed_ns = now_ns

    def now_ns(self) -> int:
        return self.fixed_ns if self.fixed_ns is not None else time.time_ns()

    def monotonic_ns(self) -> int:
        return self.fixed_ns if self.fixed_ns is not None else time.monotonic_ns()


class World:
    """The proxy process around the VMs."""

    def __init__(self, *, log_level: str = "trace", clock: Clock | None = None):
        if log_level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}")
        self.metrics = Metrics()
        self.shared = SharedState()
        self.logs: list[LogLine] = []
        self.log_level = log_level
        self.clock = clock or Clock()
        #: Property values every VM answers over its own (a test's ``properties``), by path.
        self.properties: dict[tuple[str, ...], bytes] = {}

    def log(self, level: int, message: str, vm_id: str = "", context_id: int = 0) -> None:
        name = LOG_LEVELS[level] if 0 <= level < len(LOG_LEVELS) else "critical"
        if LOG_LEVELS.index(name) >= LOG_LEVELS.index(self.log_level):
            self.logs.append(LogLine(name, message, vm_id, context_id))
