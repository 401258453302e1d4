"""Compare what an engine observed with what a case expects.

Pure functions over frozen values: every engine is judged by the same code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wasmkit.testing.engine import Headers, LogRecord, Observed, header_values
from wasmkit.testspec import Expect, LogExpectation, Matcher

MAX_SHOWN = 300


@dataclass(frozen=True)
class Mismatch:
    what: str  # "status", "header hello", "upstream header x-stamp", "body" ...
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.what}: expected {self.expected}, got {self.got}"


def _show(value: str | bytes | None) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "...(truncated)"


def matches(matcher: Matcher, value: str | None) -> bool:
    if matcher.present is not None:
        return (value is not None) == matcher.present
    if value is None:
        return False
    if matcher.equals is not None:
        return value == matcher.equals
    if matcher.contains is not None:
        return matcher.contains in value
    assert matcher.regex is not None
    return re.search(matcher.regex, value) is not None


def _joined(headers: Headers, name: str) -> str | None:
    values = header_values(headers, name)
    return ", ".join(values) if values else None


def check_headers(
    label: str, expected: dict[str, Matcher | None], headers: Headers
) -> list[Mismatch]:
    out = []
    for name, matcher in expected.items():
        got = _joined(headers, name)
        if matcher is None:
            if got is not None:
                out.append(Mismatch(f"{label} {name}", "(absent)", _show(got)))
        elif not matches(matcher, got):
            out.append(Mismatch(f"{label} {name}", matcher.describe(), _show(got)))
    return out


def check_body(label: str, matcher: Matcher, body: bytes) -> list[Mismatch]:
    text = body.decode("utf-8", errors="replace")
    if matches(matcher, text):
        return []
    return [Mismatch(label, matcher.describe(), _show(text))]


def check_logs(expected: Sequence[LogExpectation], logs: Sequence[LogRecord]) -> list[Mismatch]:
    out = []
    for want in expected:
        found = any(
            (want.level is None or want.level == line.level)
            and (want.message is None or matches(want.message, line.message))
            for line in logs
        )
        if not found:
            got = "; ".join(f"{line.level}: {line.message}" for line in logs[-5:]) or "no logs"
            out.append(Mismatch("logs", want.describe(), _show(got)))
    return out


def check_metrics(expected: Mapping[str, int], metrics: Mapping[str, int]) -> list[Mismatch]:
    return [
        Mismatch(f"metric {name}", str(value), str(metrics.get(name, "(undefined)")))
        for name, value in expected.items()
        if metrics.get(name) != value
    ]


def check(expect: Expect, observed: Observed) -> list[Mismatch]:
    """Every way ``observed`` differs from ``expect``; empty means the case passed."""
    if expect.load_error is not None:
        if observed.load_error is None:
            return [Mismatch("module", f"refused ({expect.load_error.describe()})", "loaded")]
        return check_body("load error", expect.load_error, observed.load_error.encode())
    if observed.load_error is not None:
        return [Mismatch("module", "loads in the proxy", observed.load_error)]
    if observed.status is None:
        return [Mismatch("response", "an HTTP response", observed.error or "nothing")]
    out: list[Mismatch] = []
    if expect.status is not None and observed.status != expect.status:
        got = str(observed.status)
        if observed.details and observed.details not in ("via_upstream", "-", "None"):
            got += f" ({observed.details})"
        out.append(Mismatch("status", str(expect.status), got))
    if expect.headers is not None:
        out += check_headers("header", expect.headers, observed.headers)
    if expect.body is not None:
        out += check_body("body", expect.body, observed.body)
    reached = observed.upstream is not None
    if expect.reached_upstream is not None and reached != expect.reached_upstream:
        out.append(
            Mismatch(
                "upstream",
                "reached" if expect.reached_upstream else "not reached (a local reply)",
                "reached" if reached else "not reached",
            )
        )
    wants_upstream = expect.upstream_headers is not None or expect.upstream_body is not None
    if wants_upstream and observed.upstream is None and expect.reached_upstream is None:
        out.append(Mismatch("upstream", "a request at the upstream", "none arrived"))
    elif observed.upstream is not None:
        if expect.upstream_headers is not None:
            out += check_headers(
                "upstream header", expect.upstream_headers, observed.upstream.headers
            )
        if expect.upstream_body is not None:
            out += check_body("upstream body", expect.upstream_body, observed.upstream.body)
    # Engines that cannot observe logs or metrics leave them None; the runner skips those cases.
    if expect.logs is not None and observed.logs is not None:
        out += check_logs(expect.logs, observed.logs)
    if expect.metrics is not None and observed.metrics is not None:
        out += check_metrics(expect.metrics, observed.metrics)
    return out
