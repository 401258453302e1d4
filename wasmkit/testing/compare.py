"""Where two engines disagree on the same case: the conformance check behind ``--engine both``.

Two outcomes diverge when a client or the upstream could tell them apart:
status, response headers and body, whether the upstream was reached, and the
method, path, headers and body it received, or the reason a module was refused.
Headers a proxy adds on its own account (date, server, request ids, timeouts,
content-length and transfer-encoding, which follow from the body) are left out, and the echo
upstream's JSON body is compared without them too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wasmkit.testing.engine import Headers, Observed

#: Headers Envoy (or the upstream's HTTP server) adds that the filter did not ask for.
PROXY_HEADERS = frozenset(
    {
        "date",
        "server",
        "x-envoy-upstream-service-time",
        "x-envoy-expected-rq-timeout-ms",
        "x-request-id",
        "x-forwarded-proto",
        "x-forwarded-for",
        "x-envoy-internal",
        "x-envoy-decorator-operation",
        "content-length",
        "transfer-encoding",
    }
)
MAX_SHOWN = 120


@dataclass(frozen=True)
class Outcome:
    """What one engine produced for one case: an observation, or a module it refused."""

    engine: str
    observed: Observed | None = None
    load_error: str | None = None


@dataclass(frozen=True)
class Difference:
    what: str
    left: str
    right: str


@dataclass(frozen=True)
class Comparison:
    name: str
    index: int
    left: Outcome
    right: Outcome
    differences: tuple[Difference, ...]
    #: What was not compared, and why (the whole case, or a part of it such as the upstream).
    unchecked: tuple[str, ...] = ()
    #: True when nothing of the case was compared (``unchecked`` says why).
    whole: bool = False

    @property
    def diverged(self) -> bool:
        return bool(self.differences)


def _show(value: object) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def own_headers(headers: Headers) -> dict[str, list[str]]:
    """Headers by name, without those a proxy adds itself; values in arrival order."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        if name.lower() not in PROXY_HEADERS:
            out.setdefault(name.lower(), []).append(value)
    return out


def _echo_document(body: bytes) -> object | None:
    """The harness upstream's JSON echo with proxy-added headers removed, else None."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("headers"), dict):
        return None
    if not {"method", "path", "body"} <= doc.keys():
        return None
    doc["headers"] = {k: v for k, v in doc["headers"].items() if k.lower() not in PROXY_HEADERS}
    return doc


def _bodies_differ(left: bytes, right: bytes) -> bool:
    if left == right:
        return False
    a, b = _echo_document(left), _echo_document(right)
    return a is None or b is None or a != b


def _header_differences(label: str, left: Headers, right: Headers) -> list[Difference]:
    a, b = own_headers(left), own_headers(right)
    return [
        Difference(
            f"{label} {name}",
            _show(", ".join(a[name]) if name in a else None),
            _show(", ".join(b[name]) if name in b else None),
        )
        for name in sorted(a.keys() | b.keys())
        if a.get(name) != b.get(name)
    ]


def _status(observed: Observed) -> str:
    if observed.status is None:
        return f"no response ({observed.error or 'nothing'})"
    return str(observed.status)


def compare_observed(left: Observed, right: Observed) -> list[Difference]:
    if left.load_error is not None or right.load_error is not None:
        return compare_outcomes(
            Outcome("left", load_error=left.load_error)
            if left.load_error
            else Outcome("left", left),
            Outcome("right", load_error=right.load_error)
            if right.load_error
            else Outcome("right", right),
        )
    out: list[Difference] = []
    if left.status != right.status:
        out.append(Difference("status", _status(left), _status(right)))
        return out  # everything else follows from a different answer
    if left.status is None:
        return out
    if left.details and right.details and left.details != right.details:
        out.append(Difference("details", left.details, right.details))
    out += _header_differences("header", left.headers, right.headers)
    if _bodies_differ(left.body, right.body):
        out.append(Difference("body", _show(left.body), _show(right.body)))
    lu, ru = left.upstream, right.upstream
    if left.upstream_race or right.upstream_race:
        # The filter answered (or trapped) once the router had the request headers: whether
        # the upstream saw a request is a race in Envoy; the client's answer is what counts.
        return out
    if (lu is None) != (ru is None):
        out.append(
            Difference(
                "upstream", "reached" if lu else "not reached", "reached" if ru else "not reached"
            )
        )
    elif lu is not None and ru is not None:
        if (lu.method, lu.path) != (ru.method, ru.path):
            out.append(
                Difference("upstream request", f"{lu.method} {lu.path}", f"{ru.method} {ru.path}")
            )
        out += _header_differences("upstream header", lu.headers, ru.headers)
        if lu.body != ru.body:
            out.append(Difference("upstream body", _show(lu.body), _show(ru.body)))
    return out


#: Kinds of load refusal, by the words Envoy (and the emulator) use for them: two refusals
#: agree when they are of one kind, whatever else the wording carries (a trap's text, a
#: V8 or wasmtime message). A missing import is of its import's kind.
_REFUSALS = (
    ("missing or unknown proxy-wasm abi", "no-abi"),
    ("due to a missing import: ", "missing-import"),
    ("due to an import type mismatch: ", "bad-signature"),
    ("missing memory export", "no-memory"),
    ("missing malloc", "no-allocator"),
    ("failed to parse", "corrupt"),
    ("failed to start base wasm module", "start"),
    ("failed to configure base wasm plugin", "configure"),
    # A trap in a start-up callback: Envoy names the callback ("Function: proxy_on_configure
    # failed: <trap>"), the emulator the phase it failed.
    ("function: proxy_on_configure failed", "configure"),
    ("function: proxy_on_vm_start failed", "start"),
    ("function: proxy_on_context_create failed", "start"),
    ("function: _initialize failed", "start"),
    ("function: _start failed", "start"),
    ("compiled without support", "no-runtime"),
)


def refusal_kind(reason: str) -> str:
    text = reason.lower()
    for words, kind in _REFUSALS:
        if words in text:
            if words.endswith(": "):
                return f"{kind} {text.split(words, 1)[1].split(',')[0].strip()}"
            return kind
    return reason


def _refusal(reason: str | None) -> str:
    """One table cell: the reason's first line (Envoy appends a trap's in-VM backtrace)."""
    return f"refused: {reason.splitlines()[0]}" if reason else "loaded"


def compare_outcomes(left: Outcome, right: Outcome) -> list[Difference]:
    if left.load_error is not None or right.load_error is not None:
        if (
            left.load_error is not None
            and right.load_error is not None
            and refusal_kind(left.load_error) == refusal_kind(right.load_error)
        ):
            return []
        return [Difference("module", _refusal(left.load_error), _refusal(right.load_error))]
    assert left.observed is not None and right.observed is not None
    return compare_observed(left.observed, right.observed)


def compare_engines(
    cases: Sequence[tuple[int, str]],
    outcomes: Mapping[str, Sequence[Outcome]],
    skip: Sequence[str | None] = (),
) -> tuple[Comparison, ...]:
    """Compare the first engine with every other one, case by case (``skip``: why a case is
    not comparable at all, or None); each comparison says what it left out."""
    names = list(outcomes)
    if len(names) < 2:
        return ()
    base = names[0]
    out = []
    for other in names[1:]:
        for position, (index, name) in enumerate(cases):
            left, right = outcomes[base][position], outcomes[other][position]
            why = skip[position] if skip else None
            if why is not None:
                out.append(Comparison(name, index, left, right, (), (why,), whole=True))
                continue
            unchecked = (
                (UPSTREAM_RACE,)
                if any(o.observed is not None and o.observed.upstream_race for o in (left, right))
                else ()
            )
            differences = tuple(compare_outcomes(left, right))
            out.append(Comparison(name, index, left, right, differences, unchecked))
    return tuple(out)


UPSTREAM_RACE = "whether the upstream was reached (a race in Envoy once the router had the headers)"
