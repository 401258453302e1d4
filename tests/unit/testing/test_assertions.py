"""Judging observed responses against expectations, engine-independently."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wasmkit._validation import validate
from wasmkit.testing.assertions import check, matches
from wasmkit.testing.engine import Observed, UpstreamRecord
from wasmkit.testspec import Expect, Matcher


def expect(**data: object) -> Expect:
    return validate(Expect, data, "t")


def observed(
    status: int = 200,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    upstream: dict[str, str] | None = None,
) -> Observed:
    record = None
    if upstream is not None:
        record = UpstreamRecord("GET", "/", tuple(upstream.items()), b"")
    return Observed(status, tuple((headers or {}).items()), body, record)


def test_matchers() -> None:
    assert matches(Matcher(equals="a"), "a")
    assert not matches(Matcher(equals="a"), "ab")
    assert not matches(Matcher(equals="a"), None)
    assert matches(Matcher(regex="^to"), "tomorrow")
    assert not matches(Matcher(regex="^to"), "auto")
    assert matches(Matcher(contains="mor"), "tomorrow")
    assert matches(Matcher(present=True), "")
    assert not matches(Matcher(present=True), None)
    assert matches(Matcher(present=False), None)


def test_passing_case_has_no_mismatch() -> None:
    e = expect(status=200, headers={"hello": "world", "x-gone": None}, body={"contains": "ok"})
    assert check(e, observed(headers={"hello": "world"}, body=b"all ok")) == []


def test_each_difference_is_reported() -> None:
    e = expect(status=200, headers={"hello": "world", "x-gone": None}, body="exact")
    found = check(e, observed(status=403, headers={"x-gone": "1"}, body=b"other"))
    assert [m.what for m in found] == ["status", "header hello", "header x-gone", "body"]
    assert found[0].expected == "200" and found[0].got == "403"
    assert found[1].got == "(absent)"
    assert found[2].expected == "(absent)" and found[2].got == "'1'"


def test_repeated_headers_are_joined() -> None:
    o = Observed(200, (("set-cookie", "a"), ("set-cookie", "b")))
    assert check(expect(headers={"set-cookie": "a, b"}), o) == []


def test_upstream_expectations_need_an_upstream_request() -> None:
    e = expect(upstreamHeaders={"x-stamp": "w"})
    found = check(e, observed())
    assert [(m.what, m.got) for m in found] == [("upstream", "none arrived")]
    assert check(e, observed(upstream={"x-stamp": "w"})) == []
    assert check(e, observed(upstream={"x-stamp": "v"}))[0].what == "upstream header x-stamp"


def test_reached_upstream() -> None:
    assert check(expect(reachedUpstream=False), observed()) == []
    assert check(expect(reachedUpstream=False), observed(upstream={}))[0].what == "upstream"
    assert check(expect(reachedUpstream=True), observed())[0].got == "not reached"


def test_no_response_is_one_clear_mismatch() -> None:
    found = check(expect(status=200), Observed(None, error="no response from Envoy (timed out)"))
    assert len(found) == 1 and "timed out" in found[0].got


def test_details_shown_with_status() -> None:
    o = Observed(503, details="wasm_fail_stream")
    assert check(expect(status=200), o)[0].got == "503 (wasm_fail_stream)"


def test_long_bodies_are_truncated_in_reports() -> None:
    got = check(expect(body="x"), observed(body=b"y" * 5000))[0].got
    assert got.endswith("...(truncated)") and len(got) < 400


def test_a_refusal_is_expected_with_load_error() -> None:
    expect = Expect.model_validate({"loadError": {"contains": "configure"}})
    refused = Observed(None, load_error="Failed to configure base Wasm plugin")
    assert check(expect, refused) == []
    other = Observed(None, load_error="Failed to start base Wasm module")
    assert [m.what for m in check(expect, other)] == ["load error"]
    (loaded,) = check(expect, Observed(200))
    assert (loaded.what, loaded.got) == ("module", "loaded")
    (unexpected,) = check(Expect.model_validate({"status": 200}), refused)
    assert (unexpected.what, unexpected.got) == ("module", refused.load_error)


def test_load_error_stands_alone() -> None:
    with pytest.raises(ValidationError, match="loadError stands alone"):
        Expect.model_validate({"loadError": "x", "status": 200})
