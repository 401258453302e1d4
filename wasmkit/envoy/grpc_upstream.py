"""The harness's canned gRPC upstream: a real gRPC server (HTTP/2) on loopback.

Every unary call, whatever its service and method, gets the next canned answer: status 0
with a message (raw bytes, no protobuf schema needed), or a failure status with its
message (a trailers-only response). The only module that imports grpcio.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

# The harness forks Envoy while the server's threads run; Envoy never uses grpcio, so no
# fork handlers (without this grpcio logs that it skips them, on every run).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc


@dataclass(frozen=True)
class GrpcAnswer:
    status: int = 0
    message: bytes = b""
    status_message: str = ""
    initial_metadata: tuple[tuple[str, str], ...] = ()
    trailing_metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class GrpcReceived:
    """One call that arrived: ``/service/method``, its metadata and request message."""

    method: str
    metadata: tuple[tuple[str, str], ...]
    message: bytes


@dataclass
class _State:
    lock: threading.Lock = field(default_factory=threading.Lock)
    queue: list[GrpcAnswer] = field(default_factory=list)
    exhausted: GrpcAnswer = field(default_factory=GrpcAnswer)
    received: list[GrpcReceived] = field(default_factory=list)


_CODES = {code.value[0]: code for code in grpc.StatusCode}


class _AnyMethod(grpc.GenericRpcHandler):  # type: ignore[misc]
    def __init__(self, state: _State):
        self.state = state

    def service(self, details: Any) -> Any:
        method = str(details.method)

        def unary(request: bytes, context: Any) -> bytes:
            metadata = tuple((str(k), str(v)) for k, v in context.invocation_metadata())
            with self.state.lock:
                self.state.received.append(GrpcReceived(method, metadata, request))
                queue = self.state.queue
                answer = queue.pop(0) if queue else self.state.exhausted
            if answer.trailing_metadata:
                context.set_trailing_metadata(answer.trailing_metadata)
            if answer.status != 0:  # a trailers-only response
                context.abort(_CODES[answer.status], answer.status_message)
            if answer.initial_metadata:
                context.send_initial_metadata(answer.initial_metadata)
            return answer.message

        # No (de)serializers: the messages stay bytes.
        return grpc.unary_unary_rpc_method_handler(unary)


class GrpcUpstream:
    """Owns the gRPC server; use as a context manager."""

    def __init__(self, host: str = "127.0.0.1"):
        self._state = _State()
        self._server = grpc.server(
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="wasmkit-grpc"),
            handlers=[_AnyMethod(self._state)],
        )
        self._port = int(self._server.add_insecure_port(f"{host}:0"))

    @property
    def port(self) -> int:
        return self._port

    @property
    def received(self) -> list[GrpcReceived]:
        with self._state.lock:
            return list(self._state.received)

    def __enter__(self) -> GrpcUpstream:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None).wait()

    def answer_in_turn(self, answers: list[GrpcAnswer], then: GrpcAnswer) -> None:
        """Answer the next calls with ``answers``, one each, then with ``then``."""
        with self._state.lock:
            self._state.queue, self._state.exhausted = list(answers), then
