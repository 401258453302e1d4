"""Test proxy-wasm modules: declarative suites run in a real Envoy (and other engines).

Public API::

    from wasmkit.testing import resolve_inputs, run_tests, EnvoyEngine, render_text
"""

from wasmkit.testing.api import TestInputs, resolve_inputs, run_tests
from wasmkit.testing.engine import Engine, EngineRun, Observed, UpstreamRecord
from wasmkit.testing.envoy_engine import EnvoyEngine
from wasmkit.testing.plan import FilterVariant, TestPlan, make_plan
from wasmkit.testing.report import junit_xml, render_json, render_text, summary_line
from wasmkit.testing.runner import CaseResult, SuiteResult, run_plan
from wasmkit.testing.spec import Case, Expect, Suite

__all__ = [
    "Case",
    "CaseResult",
    "Engine",
    "EngineRun",
    "EnvoyEngine",
    "Expect",
    "FilterVariant",
    "Observed",
    "Suite",
    "SuiteResult",
    "TestInputs",
    "TestPlan",
    "UpstreamRecord",
    "junit_xml",
    "make_plan",
    "render_json",
    "render_text",
    "resolve_inputs",
    "run_plan",
    "run_tests",
    "summary_line",
]
