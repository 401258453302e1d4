"""Divergence between engines (--engine both), emulator-only cases, and how the report shows them."""

from __future__ import annotations

import json

from wasmkit.testing import render_json, render_text
from wasmkit.testing.compare import Outcome, compare_engines, compare_observed, compare_outcomes
from wasmkit.testing.emulator_engine import EmulatorEngine
from wasmkit.testing.engine import LogRecord, Observed, UpstreamRecord
from wasmkit.testing.plan import make_plan
from wasmkit.testing.runner import judge, run_plan
from wasmkit.testspec import Suite

ECHO_ENVOY = json.dumps(
    {
        "method": "GET",
        "path": "/",
        "headers": {"host": "h", "x-request-id": "1", "x-forwarded-proto": "http", "a": "b"},
        "body": "",
        "bodyEncoding": "utf-8",
    }
).encode()
ECHO_EMULATOR = json.dumps(
    {
        "method": "GET",
        "path": "/",
        "headers": {"host": "h", "x-request-id": "2", "a": "b"},
        "body": "",
        "bodyEncoding": "utf-8",
    }
).encode()


def _observed(**kwargs: object) -> Observed:
    base: dict[str, object] = {
        "status": 200,
        "headers": (("date", "today"), ("server", "envoy"), ("hello", "world")),
        "body": b"ok",
        "upstream": UpstreamRecord("GET", "/", (("host", "h"), ("x-request-id", "1")), b""),
    }
    return Observed(**{**base, **kwargs})  # type: ignore[arg-type]


def test_proxy_added_headers_and_echo_ids_do_not_count() -> None:
    envoy = _observed(body=ECHO_ENVOY, headers=(("hello", "world"), ("content-length", "10")))
    emulator = _observed(
        body=ECHO_EMULATOR,
        headers=(("hello", "world"),),
        upstream=UpstreamRecord("GET", "/", (("host", "h"), ("x-request-id", "2")), b""),
    )
    assert compare_observed(envoy, emulator) == []


def test_every_visible_difference_counts() -> None:
    base = _observed()
    assert [d.what for d in compare_observed(base, _observed(status=503))] == ["status"]
    other = _observed(
        headers=(("hello", "moon"), ("extra", "1")),
        body=b"nope",
        upstream=UpstreamRecord("POST", "/x", (("host", "h"), ("x-stamp", "1")), b"b"),
    )
    whats = [d.what for d in compare_observed(base, other)]
    assert whats == [
        "header extra",
        "header hello",
        "body",
        "upstream request",
        "upstream header x-stamp",
        "upstream body",
    ]
    assert [d.what for d in compare_observed(base, _observed(upstream=None))] == ["upstream"]
    no_answer = Observed(status=None, error="timed out")
    assert compare_observed(base, no_answer)[0].right == "no response (timed out)"


def test_load_failures_agree_only_with_the_same_reason() -> None:
    refused = Outcome("envoy", load_error="Failed to configure base Wasm plugin")
    assert compare_outcomes(refused, Outcome("emulator", load_error=refused.load_error)) == []
    loaded = Outcome("emulator", observed=_observed())
    (difference,) = compare_outcomes(refused, loaded)
    assert (difference.left, difference.right) == (f"refused: {refused.load_error}", "loaded")
    trapped = Outcome("envoy", load_error="Function: proxy_on_tick failed: x\n  0: 0x11b - f")
    (difference,) = compare_outcomes(trapped, loaded)
    assert difference.left == "refused: Function: proxy_on_tick failed: x"  # no backtrace


def test_one_engine_compares_nothing_and_skipped_cases_say_why() -> None:
    outcome = Outcome("envoy", observed=_observed())
    assert compare_engines([(0, "a")], {"envoy": [outcome]}) == ()
    both = {"envoy": [outcome, outcome], "emulator": [outcome, outcome]}
    compared = compare_engines([(0, "a"), (1, "b")], both, skip=["emulator only", None])
    assert [(c.name, c.whole, c.unchecked) for c in compared] == [
        ("a", True, ("emulator only",)),
        ("b", False, ()),
    ]


def test_the_upstream_is_not_compared_where_envoy_races() -> None:
    from dataclasses import replace

    from wasmkit.testing.compare import UPSTREAM_RACE
    from wasmkit.testing.engine import UpstreamRecord

    reached = replace(_observed(), upstream=UpstreamRecord("POST", "/", (), b"x"))
    racing = replace(_observed(), upstream=None, upstream_race=True)
    (c,) = compare_engines(
        [(0, "a")],
        {"envoy": [Outcome("envoy", reached)], "emulator": [Outcome("emulator", racing)]},
    )
    assert (c.differences, c.unchecked) == ((), (UPSTREAM_RACE,))
    (c,) = compare_engines(
        [(0, "a")],
        {
            "envoy": [Outcome("envoy", reached)],
            "emulator": [Outcome("emulator", replace(racing, upstream_race=False))],
        },
    )
    assert [d.what for d in c.differences] == ["upstream"]


SUITE = Suite.model_validate(
    {
        "rootId": "add_header",
        "config": "world",
        "cases": [
            {"name": "plain", "expect": {"headers": {"hello": "world"}}},
            {"name": "logged", "config": "x", "expect": {"logs": ["configured"]}},
        ],
    }
)


def test_emulator_only_cases_are_skipped_where_logs_are_not_observable(wat) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(SUITE, wat("add_header"), None, filter_name="t")
    logged = plan.cases[1]
    skipped = judge(logged, "envoy", _observed())
    assert skipped.skipped is not None and "expect.logs" in skipped.skipped
    seen = judge(logged, "emulator", _observed(logs=(LogRecord("info", "configured"),)))
    assert seen.passed
    missing = judge(logged, "emulator", _observed(logs=()))
    assert [m.what for m in missing.mismatches] == ["logs"]


class _Other:
    """A second engine: the emulator under another name, optionally answering 418 to everything
    (what a proxy that disagrees would do)."""

    name = "other"

    def __init__(self, status: int | None = None):
        self.real, self.status = EmulatorEngine(), status

    def run(self, plan):  # type: ignore[no-untyped-def]
        from dataclasses import replace

        run = self.real.run(plan)
        if self.status is not None:
            run = replace(run, observed=tuple(replace(o, status=self.status) for o in run.observed))
        return replace(run, engine=self.name)


def test_both_engines_in_the_report_side_by_side(wat) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(SUITE, wat("add_header"), None, filter_name="t")
    agreeing = run_plan(plan, [EmulatorEngine(), _Other()])
    assert agreeing.ok and agreeing.diverged == 0
    assert "engines agree on all 2 compared cases" in render_text(agreeing)
    diverging = run_plan(plan, [EmulatorEngine(), _Other(status=418)])
    assert not diverging.ok and diverging.diverged == 2
    text = render_text(diverging)
    assert "DIVERGE  plain" in text
    assert "status" in text and "418" in text and text.rstrip().endswith("2 diverged")
    data = json.loads(render_json(diverging))
    assert data["summary"]["diverged"] == 2
    assert data["divergences"][0]["differences"][0] == {
        "what": "status",
        "left": "200",
        "right": "418",
    }


def test_load_refusals_are_compared_by_kind_not_wording() -> None:
    from wasmkit.testing.compare import Outcome, compare_outcomes

    def refused(engine: str, reason: str) -> Outcome:
        return Outcome(engine, load_error=reason)

    same_kind = compare_outcomes(
        refused("envoy", "Failed to configure base Wasm plugin"),
        refused(
            "emulator", "Wasm VM failed Failed to configure base Wasm plugin (trap: unreachable)"
        ),
    )
    assert same_kind == []
    imports = compare_outcomes(
        refused("envoy", "Failed to load Wasm module due to a missing import: env.abort"),
        refused("emulator", "Failed to load Wasm module due to a missing import: env.exit"),
    )
    assert [d.what for d in imports] == ["module"]
    assert compare_outcomes(
        refused("envoy", "Failed to start base Wasm module"),
        refused("emulator", "Failed to configure base Wasm plugin"),
    )
    # Envoy names a trap in a start-up callback by the callback; the emulator by the phase.
    trap = "Function: proxy_on_configure failed: Uncaught RuntimeError: unreachable\n  0: 0x11b"
    assert (
        compare_outcomes(
            refused("envoy", trap), refused("emulator", "Failed to configure base Wasm plugin")
        )
        == []
    )
    assert (
        compare_outcomes(
            refused("envoy", trap.replace("proxy_on_configure", "proxy_on_vm_start")),
            refused("emulator", "Failed to start base Wasm module"),
        )
        == []
    )
    assert compare_outcomes(
        refused("envoy", trap), refused("emulator", "Failed to start base Wasm module")
    )
