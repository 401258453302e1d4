"""Test proxy-wasm modules: declarative suites run in a real Envoy (and other engines).

Public API::

    from wasmkit.testing import resolve_inputs, run_tests, EnvoyEngine, render_text

Unit tests of a filter, in process (the emulator; also the ``wasm_filter`` pytest fixture)::

    from wasmkit.testing import load_filter
    response = load_filter("filter.wasm", configuration="world").send("GET", "/")
"""

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
