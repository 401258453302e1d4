"""Test proxy-wasm modules: declarative suites run in a real Envoy (and other engines).

Public API::

    from wasmkit.testing import TestInputs, run_tests, make_engines, EnvoyEngine, render_text

(``wasmkit.tasks.test.resolve_inputs`` reads the module and suite from a project's
wasmkit.yaml; the suite model itself is :mod:`wasmkit.testspec`, which the project shares.)

Unit tests of a filter, in process (the emulator; also the ``wasm_filter`` pytest fixture)::

    from wasmkit.testing import load_filter
    response = load_filter("filter.wasm", configuration="world").send("GET", "/")
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from wasmkit.testing.api import TestInputs, run_tests
from wasmkit.testing.engine import Engine, EngineRun, Observed, UpstreamRecord
from wasmkit.testing.engines import make_engines
from wasmkit.testing.envoy_engine import EnvoyEngine
from wasmkit.testing.plan import FilterVariant, TestPlan, make_plan
from wasmkit.testing.report import junit_xml, render_json, render_text, summary_line
from wasmkit.testing.runner import CaseResult, SuiteResult, run_plan
from wasmkit.testspec import Case, Expect, Suite

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
    from wasmkit.testing.emulator_engine import EmulatorEngine

#: Loaded on first use: a test run on Envoy never needs wasmtime (a tenth of a second to import).
_LAZY = {
    "EmulatorEngine": "wasmkit.testing.emulator_engine",
    **dict.fromkeys(
        (
            "Exchange",
            "Filter",
            "HttpCall",
            "HttpCallResponse",
            "HttpRequest",
            "HttpResponse",
            "load_filter",
        ),
        "wasmkit.emulator",
    ),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


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
    "make_engines",
    "make_plan",
    "render_json",
    "render_text",
    "run_plan",
    "run_tests",
    "summary_line",
]
