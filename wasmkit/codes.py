"""The numbers of the proxy-wasm ABI (0.2.x): status codes, map and buffer types, actions.

Only values, shared by the test file model and the emulator (whose :mod:`wasmkit.emulator.hostcalls`
uses them).
"""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """What a host function returns to the guest (``WasmResult`` in Envoy)."""

    OK = 0
    NOT_FOUND = 1
    BAD_ARGUMENT = 2
    SERIALIZATION_FAILURE = 3
    PARSE_FAILURE = 4
    BAD_EXPRESSION = 5
    INVALID_MEMORY_ACCESS = 6
    EMPTY = 7
    CAS_MISMATCH = 8
    RESULT_MISMATCH = 9
    INTERNAL_FAILURE = 10
    BROKEN_CONNECTION = 11
    UNIMPLEMENTED = 12


class MapType(IntEnum):
    REQUEST_HEADERS = 0
    REQUEST_TRAILERS = 1
    RESPONSE_HEADERS = 2
    RESPONSE_TRAILERS = 3
    GRPC_RECEIVE_INITIAL_METADATA = 4
    GRPC_RECEIVE_TRAILING_METADATA = 5
    HTTP_CALL_RESPONSE_HEADERS = 6
    HTTP_CALL_RESPONSE_TRAILERS = 7


class BufferType(IntEnum):
    HTTP_REQUEST_BODY = 0
    HTTP_RESPONSE_BODY = 1
    DOWNSTREAM_DATA = 2
    UPSTREAM_DATA = 3
    HTTP_CALL_RESPONSE_BODY = 4
    GRPC_RECEIVE_BUFFER = 5
    VM_CONFIGURATION = 6
    PLUGIN_CONFIGURATION = 7
    CALL_DATA = 8


class MetricType(IntEnum):
    COUNTER = 0
    GAUGE = 1
    HISTOGRAM = 2


class StreamType(IntEnum):
    REQUEST = 0
    RESPONSE = 1
    DOWNSTREAM = 2
    UPSTREAM = 3


#: Header callbacks: 0 Continue; anything else stops iteration until the filter resumes it.
CONTINUE = 0

LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "critical")
