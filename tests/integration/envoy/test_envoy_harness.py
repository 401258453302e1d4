"""wasmkit test against a real Envoy (V8), with hand-written WAT filters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.envoy.conftest import RunSuite
from wasmkit.testing import SuiteResult

pytestmark = pytest.mark.envoy
Wat = Callable[[str], Path]


def failures(result: SuiteResult) -> dict[str, list[str]]:
    return {
        c.name: [f"{m.what}: expected {m.expected}, got {m.got}" for m in c.mismatches]
        for c in result.cases
        if not c.passed
    }


def test_response_request_and_local_reply(wat: Wat, run_suite: RunSuite) -> None:
    result = run_suite(
        wat("add_header"),
        {
            "config": "world",
            "cases": [
                {
                    "name": "response header",
                    "expect": {"status": 200, "headers": {"hello": "world"}},
                },
                {
                    "name": "upstream sees the stamp",
                    "request": {"path": "/p?q=1", "headers": {"x-user": "alice"}},
                    "expect": {
                        "upstreamHeaders": {
                            "x-stamp": "world",
                            "x-user": "alice",
                        },
                        "body": {"contains": '"path":"/p?q=1"'},
                    },
                },
                {
                    "name": "the client's request id reaches the upstream",
                    "request": {"headers": {"x-request-id": "case-abc"}},
                    "expect": {"upstreamHeaders": {"x-request-id": "case-abc"}},
                },
                {
                    "name": "per-case config",
                    "config": "tomorrow",
                    "expect": {
                        "headers": {"hello": "tomorrow"},
                        "upstreamHeaders": {"x-stamp": {"regex": "^to"}},
                    },
                },
                {
                    "name": "canned upstream reply, header removed",
                    "upstream": {
                        "status": 418,
                        "headers": {"x-gone": "1", "x-kept": "2"},
                        "body": "teapot",
                    },
                    "expect": {
                        "status": 418,
                        "headers": {"x-gone": None, "x-kept": "2"},
                        "body": "teapot",
                    },
                },
                {
                    "name": "local reply",
                    "request": {"headers": {"x-deny": "yes"}},
                    "expect": {"status": 403, "body": "denied by wasm", "reachedUpstream": False},
                },
                {
                    "name": "json config",
                    "config": {"greeting": "hi"},
                    "expect": {"headers": {"hello": '{"greeting":"hi"}'}},
                },
            ],
        },
    )
    assert failures(result) == {}
    assert result.passed == 7 and result.ok
    assert result.runs[0].description.startswith("Envoy 1.40")


def test_failed_expectations_report_expected_and_got(wat: Wat, run_suite: RunSuite) -> None:
    result = run_suite(
        wat("add_header"),
        {
            "config": "world",
            "cases": [
                {
                    "name": "wrong",
                    "expect": {
                        "status": 201,
                        "headers": {"hello": "mars", "server": None},
                        "upstreamHeaders": {"x-stamp": "x"},
                    },
                }
            ],
        },
    )
    assert not result.ok
    assert failures(result) == {
        "wrong": [
            "status: expected 201, got 200",
            "header hello: expected 'mars', got 'world'",
            "header server: expected (absent), got 'envoy'",
            "upstream header x-stamp: expected 'x', got 'world'",
        ]
    }


def test_one_envoy_one_listener_per_variant(wat: Wat, run_suite: RunSuite, tmp_path: Path) -> None:
    result = run_suite(
        wat("add_header"),
        {
            "config": "a",
            "cases": [
                {"name": "1", "expect": {"headers": {"hello": "a"}}},
                {"name": "2", "config": "b", "expect": {"headers": {"hello": "b"}}},
                {"name": "3", "expect": {"headers": {"hello": "a"}}},
                {"name": "4", "failurePolicy": "FAIL_OPEN", "expect": {"headers": {"hello": "a"}}},
            ],
        },
        keep=True,
    )
    assert result.ok, failures(result)
    artifacts = Path(result.runs[0].artifacts or "")
    config = (artifacts / "envoy.yaml").read_text()
    assert config.count("envoy.filters.http.wasm") == 3
    assert (artifacts / "envoy.log").is_file()
    # The access log gives every case's response code details, in order.
    details = [
        json.loads(line)["details"] for line in (artifacts / "access.log").read_text().splitlines()
    ]
    assert details == ["via_upstream"] * 4


def test_trap_under_fail_closed_poisons_the_vm(wat: Wat, run_suite: RunSuite) -> None:
    result = run_suite(
        wat("trap"),
        {
            "failurePolicy": "FAIL_CLOSED",
            "cases": [
                {"name": "first", "expect": {"status": 503}},
                {"name": "second", "expect": {"status": 503, "reachedUpstream": False}},
            ],
        },
    )
    assert result.ok, failures(result)
    assert all(c.observed and c.observed.details == "wasm_fail_stream" for c in result.cases)


def test_trap_under_fail_open_recovers(wat: Wat, run_suite: RunSuite) -> None:
    result = run_suite(
        wat("trap"),
        {
            "failurePolicy": "FAIL_OPEN",
            "cases": [
                {"name": "trapping request", "expect": {"status": 503}},
                {
                    "name": "served without the filter",
                    "expect": {"status": 200, "reachedUpstream": True},
                },
            ],
        },
    )
    assert result.ok, failures(result)


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("no_abi", "Missing or unknown Proxy-Wasm ABI version"),
        ("unknown_import", "Failed to load Wasm module due to a missing import: env.abort"),
        ("bad_signature", "import type mismatch: env.proxy_log"),
        ("configure_fails", "Failed to configure base Wasm plugin"),
    ],
)
def test_broken_modules_fail_with_envoys_reason(
    wat: Wat, run_suite: RunSuite, fixture: str, reason: str
) -> None:
    result = run_suite(wat(fixture), {"cases": [{"name": "any", "expect": {"status": 200}}]})
    assert result.load_error is not None and reason in result.load_error
    assert not result.ok and result.failed == 1


def test_corrupted_bytes(tmp_path: Path, run_suite: RunSuite) -> None:
    module = tmp_path / "corrupt.wasm"
    module.write_bytes(b"\0asm\x01\0\0\0" + bytes(range(50)))
    result = run_suite(module, {"cases": [{"name": "any", "expect": {"status": 200}}]})
    assert result.load_error == "Failed to parse corrupted Wasm module"
    assert result.analysis and result.analysis[0].code == "invalid"
