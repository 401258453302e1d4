"""Planning (variants shared by cases) and the three report formats."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pydantic import ValidationError

from wasmkit._validation import validate
from wasmkit.errors import UsageError
from wasmkit.filter import FailurePolicy
from wasmkit.testing.assertions import Mismatch
from wasmkit.testing.engine import EngineRun, LogRecord, Observed
from wasmkit.testing.plan import calls_need_emulator, emulator_only, make_plan
from wasmkit.testing.report import junit_xml, render_text, to_json
from wasmkit.testing.runner import CaseResult, SuiteResult
from wasmkit.testspec import Suite

SUITE = validate(
    Suite,
    {
        "rootId": "r",
        "config": "world",
        "cases": [
            {"name": "a", "expect": {"status": 200}},
            {"name": "b", "config": "tomorrow", "expect": {"status": 200}},
            {"name": "c", "expect": {"status": 200}},
            {
                "name": "d",
                "config": {"k": [1, 2]},
                "failurePolicy": "FAIL_OPEN",
                "expect": {"status": 200},
            },
            {"name": "e", "rootId": "other", "config": "world", "expect": {"status": 200}},
        ],
    },
    "t",
)


def test_cases_with_equal_settings_share_a_variant() -> None:
    plan = make_plan(SUITE, Path("m.wasm"), None)
    assert [pc.variant.index for pc in plan.cases] == [0, 1, 0, 2, 3]
    assert plan.variants[2].configuration == '{"k":[1,2]}'
    assert plan.variants[2].failure_policy is FailurePolicy.FAIL_OPEN
    assert plan.variants[3].root_id == "other"


def test_command_line_overrides_suite_defaults_not_cases() -> None:
    plan = make_plan(SUITE, Path("m.wasm"), None, config="cli", root_id="x")
    assert plan.cases[0].variant.configuration == "cli"
    assert plan.cases[0].variant.root_id == "x"
    assert plan.cases[1].variant.configuration == "tomorrow"
    assert plan.cases[4].variant.root_id == "other"


def test_select_keeps_matching_cases_or_refuses() -> None:
    assert [pc.case.name for pc in make_plan(SUITE, Path("m"), None, select="b").cases] == ["b"]
    with pytest.raises(UsageError):
        make_plan(SUITE, Path("m"), None, select="zzz")


def result() -> SuiteResult:
    ok = Observed(200, duration_ms=1.0)
    cases = (
        CaseResult("good", 0, "envoy", (), ok),
        CaseResult(
            "bad <&>",
            1,
            "envoy",
            (Mismatch("status", "200", "403"), Mismatch("header a", "'x'", "(absent)")),
            ok,
        ),
    )
    run = EngineRun("envoy", "Envoy 1.40.0 (V8)", (ok, ok), 5.0)
    return SuiteResult(Path("f.wasm"), None, (run,), cases, 12.0)


def test_text_report_ends_with_the_counts_line() -> None:
    text = render_text(result())
    lines = text.splitlines()
    assert lines[-1] == "1 passed, 1 failed"
    assert "  FAIL  bad <&>" in text
    assert "status: expected 200, got 403" in text
    assert "engine envoy: Envoy 1.40.0 (V8)" in text


def test_quiet_report_shows_failures_only() -> None:
    text = render_text(result(), quiet=True)
    assert "good" not in text and "bad" in text


def test_junit_xml_is_valid_and_counts() -> None:
    root = ET.fromstring(junit_xml(result()))
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failing = [tc for tc in suite.findall("testcase") if tc.find("failure") is not None]
    assert [tc.get("name") for tc in failing] == ["bad <&>"]
    failure = failing[0].find("failure")
    assert failure is not None and "status: expected 200, got 403" in (failure.text or "")


def test_json_report() -> None:
    data = json.loads(json.dumps(to_json(result())))
    assert data["summary"] == {"passed": 1, "failed": 1, "skipped": 0}
    assert data["ok"] is False
    assert data["cases"][1]["mismatches"][0] == {"what": "status", "expected": "200", "got": "403"}


def test_declared_clusters_let_http_calls_run_on_every_engine(tmp_path: Path) -> None:
    suite = Suite.model_validate(
        {
            "clusters": ["auth"],
            "cases": [
                {"name": "declared", "httpCalls": [{"cluster": "auth"}], "expect": {"status": 200}},
                {"name": "any", "httpCalls": [{"status": 200}], "expect": {"status": 200}},
                {
                    "name": "late",
                    "httpCalls": [{"cluster": "auth", "timeout": True}],
                    "expect": {"status": 403},
                },
                {"name": "other", "httpCalls": [{"cluster": "db"}], "expect": {"status": 200}},
                {"name": "none", "expect": {"status": 200}},
            ],
        }
    )
    plan = make_plan(suite, tmp_path / "f.wasm", None)
    assert plan.clusters == ("auth",)
    assert [calls_need_emulator(plan, pc) for pc in plan.cases] == [False, True, True, True, False]


def test_a_cluster_name_the_harness_cannot_add_is_refused() -> None:
    for bad in ("upstream", "a b", ""):
        with pytest.raises(ValidationError, match="not a cluster name"):
            Suite.model_validate(
                {"clusters": [bad], "cases": [{"name": "c", "expect": {"status": 200}}]}
            )


def test_property_overrides_are_emulator_only(tmp_path: Path) -> None:
    suite = Suite.model_validate(
        {
            "cases": [
                {"name": "given", "properties": {"a.b": "x"}, "expect": {"status": 200}},
                {
                    "name": "both",
                    "properties": {"a": 1},
                    "httpCalls": [{"status": 200}],
                    "expect": {"status": 200},
                },
                {"name": "plain", "expect": {"status": 200}},
            ],
        }
    )
    plan = make_plan(suite, tmp_path / "f.wasm", None)
    assert [emulator_only(plan, pc) for pc in plan.cases] == [
        ("properties",),
        ("httpCalls", "properties"),
        (),
    ]


def test_a_go_panics_message_stays_in_view_above_its_stack() -> None:
    # Go's runtime writes a panic in pieces; Envoy logs each write as a line of its own.
    pieces = ["panic: ", "invalid context on proxy_on_request_headers", "", "goroutine ", "1"]
    pieces += [f"frame {i}" for i in range(30)]
    logs = tuple(LogRecord("error", p) for p in pieces)
    observed = Observed(503, logs=logs)
    case = CaseResult("trapped", 0, "envoy", (Mismatch("status", "200", "503"),), observed)
    text = render_text(SuiteResult(Path("f.wasm"), None, (), (case,), 1.0))
    assert "[error] panic: invalid context on proxy_on_request_headers" in text
    assert "frame 29" in text and "frame 3\n" not in text


@pytest.mark.parametrize(
    "said",
    [
        "invalid context on proxy_on_request_headers",
        "panicked at src/dispatcher.rs:201:25:\nmissing ContextType on root_context",
    ],
)
def test_a_network_filter_in_an_http_chain_is_named_as_such(said: str) -> None:
    observed = Observed(503, logs=(LogRecord("critical", said),))
    case = CaseResult("tcp", 0, "envoy", (Mismatch("status", "200", "503"),), observed)
    suite = SuiteResult(Path("f.wasm"), None, (), (case,), 1.0)
    for text in (render_text(suite), junit_xml(suite)):
        assert "a network (TCP) filter or a plugin without HTTP contexts" in text
    plain = CaseResult("bad", 0, "envoy", (Mismatch("status", "200", "503"),), Observed(503))
    assert "network (TCP)" not in render_text(SuiteResult(Path("f"), None, (), (plain,), 1.0))
