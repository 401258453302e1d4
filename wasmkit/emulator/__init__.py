"""An in-process proxy-wasm host on wasmtime: run a filter without Envoy, in milliseconds.

It answers the host functions the way Envoy 1.40 does (ABI 0.2.1, 0.2.0 and the
0.1.0 callbacks), drives the root and stream contexts through their life cycle,
and applies the failure policy to traps. It also sees what Envoy keeps to
itself: logs, metrics and outgoing HTTP calls. Public API::

    from wasmkit.emulator import load_filter, HttpRequest, HttpResponse

    f = load_filter("filter.wasm", root_id="my_root", configuration="world")
    ex = f.request(HttpRequest("GET", "/", (("host", "example.com"),)))
    assert ex.header("hello") == "world"

Layout: ``_wasm`` (the only wasmtime user), ``hostcalls``, ``outbound`` and ``wasi``
(the imports), ``vm`` (start-up, callbacks), ``stream`` (one request), ``driver`` (one
callback at a time), ``plugin`` (failure policy), ``world`` (metrics, shared data,
queues, logs), ``properties``, ``serial``, ``api`` (start_filter, load_filter).

Submodules load on first use (``wasmkit.emulator.wat`` compiles .wat for every command; a
run on Envoy must not pay for importing wasmtime with it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wasmkit.codes import Status
from wasmkit.errors import GuestTrap, LoadFailure
from wasmkit.filter import FailurePolicy

if TYPE_CHECKING:
    from wasmkit.emulator._wasm import DEFAULT_FUEL, DEFAULT_MEMORY_LIMIT, Limits
    from wasmkit.emulator.api import canned_responder, load_filter, start_filter
    from wasmkit.emulator.context import HttpCall, HttpCallResponse, LocalReply, Responder
    from wasmkit.emulator.driver import StreamDriver
    from wasmkit.emulator.plugin import Filter, FilterSettings, VmState
    from wasmkit.emulator.properties import ConnectionInfo
    from wasmkit.emulator.stream import Exchange, HttpRequest, HttpResponse, Upstream
    from wasmkit.emulator.world import Clock, LogLine, World

#: Public name -> the submodule that defines it.
_LAZY = {
    "DEFAULT_FUEL": "_wasm",
    "DEFAULT_MEMORY_LIMIT": "_wasm",
    "Limits": "_wasm",
    "HttpCall": "context",
    "HttpCallResponse": "context",
    "LocalReply": "context",
    "Responder": "context",
    "StreamDriver": "driver",
    "Filter": "plugin",
    "FilterSettings": "plugin",
    "VmState": "plugin",
    "ConnectionInfo": "properties",
    "Exchange": "stream",
    "HttpRequest": "stream",
    "HttpResponse": "stream",
    "Upstream": "stream",
    "Clock": "world",
    "LogLine": "world",
    "World": "world",
    "canned_responder": "api",
    "load_filter": "api",
    "start_filter": "api",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "DEFAULT_FUEL",
    "DEFAULT_MEMORY_LIMIT",
    "Clock",
    "ConnectionInfo",
    "Exchange",
    "FailurePolicy",
    "Filter",
    "FilterSettings",
    "GuestTrap",
    "HttpCall",
    "HttpCallResponse",
    "HttpRequest",
    "HttpResponse",
    "Limits",
    "LoadFailure",
    "LocalReply",
    "LogLine",
    "Responder",
    "Status",
    "StreamDriver",
    "Upstream",
    "VmState",
    "World",
    "canned_responder",
    "load_filter",
    "start_filter",
]
