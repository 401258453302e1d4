"""Test proxy-wasm modules: declarative suites run in a real Envoy (and other engines).

Public API::

    from wasmkit.testing import resolve_inputs, run_tests, EnvoyEngine, render_text

Unit tests of a filter, in process (the emulator; also the ``wasm_filter`` pytest fixture)::

    from wasmkit.testing import load_filter
    response = load_filter("filter.wasm", configuration="world").send("GET", "/")

Names load on first use: ``import wasmkit.testing.spec`` (as wasmkit.project does)
must not pull in the engines, and ``wasmkit build`` should not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wasmkit.emulator import (
        Exchange,
        Filter,
        HttpCall,
        HttpCallResponse,
        HttpRequest,
        HttpResponse,
        load_filter,
    )
    from wasmkit.testing.api import TestInputs, resolve_inputs, run_tests
    from wasmkit.testing.emulator_engine import EmulatorEngine
    from wasmkit.testing.engine import Engine, EngineRun, Observed, UpstreamRecord
    from wasmkit.testing.envoy_engine import EnvoyEngine
    from wasmkit.testing.plan import FilterVariant, TestPlan, make_plan
    from wasmkit.testing.report import junit_xml, render_json, render_text, summary_line
    from wasmkit.testing.runner import CaseResult, SuiteResult, run_plan
    from wasmkit.testing.spec import Case, Expect, Suite

_LAZY: dict[str, str] = {
    "Case": "wasmkit.testing.spec",
    "CaseResult": "wasmkit.testing.runner",
    "EmulatorEngine": "wasmkit.testing.emulator_engine",
    "Engine": "wasmkit.testing.engine",
    "EngineRun": "wasmkit.testing.engine",
    "EnvoyEngine": "wasmkit.testing.envoy_engine",
    "Exchange": "wasmkit.emulator",
    "Expect": "wasmkit.testing.spec",
    "Filter": "wasmkit.emulator",
    "FilterVariant": "wasmkit.testing.plan",
    "HttpCall": "wasmkit.emulator",
    "HttpCallResponse": "wasmkit.emulator",
    "HttpRequest": "wasmkit.emulator",
    "HttpResponse": "wasmkit.emulator",
    "Observed": "wasmkit.testing.engine",
    "Suite": "wasmkit.testing.spec",
    "SuiteResult": "wasmkit.testing.runner",
    "TestInputs": "wasmkit.testing.api",
    "TestPlan": "wasmkit.testing.plan",
    "UpstreamRecord": "wasmkit.testing.engine",
    "junit_xml": "wasmkit.testing.report",
    "load_filter": "wasmkit.emulator",
    "make_plan": "wasmkit.testing.plan",
    "render_json": "wasmkit.testing.report",
    "render_text": "wasmkit.testing.report",
    "resolve_inputs": "wasmkit.testing.api",
    "run_plan": "wasmkit.testing.runner",
    "run_tests": "wasmkit.testing.api",
    "summary_line": "wasmkit.testing.report",
}

__all__ = [
    "Case",
    "CaseResult",
    "EmulatorEngine",
    "Engine",
    "EngineRun",
    "EnvoyEngine",
    "Exchange",
    "Expect",
    "Filter",
    "FilterVariant",
    "HttpCall",
    "HttpCallResponse",
    "HttpRequest",
    "HttpResponse",
    "Observed",
    "Suite",
    "SuiteResult",
    "TestInputs",
    "TestPlan",
    "UpstreamRecord",
    "junit_xml",
    "load_filter",
    "make_plan",
    "render_json",
    "render_text",
    "resolve_inputs",
    "run_plan",
    "run_tests",
    "summary_line",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'wasmkit.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
