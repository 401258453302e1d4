"""Render a :class:`SuiteResult` for people (text), CI (JUnit XML) and programs (JSON).

The closing line of the text report is ``N passed, M failed`` alone on its
line (``, K skipped`` when any were), which CI systems read.

Case names, observed values and the filter's logs come from test files and modules that may be
someone else's: every such string passes :func:`~wasmkit._text.printable` (``_p``) before
wasmkit adds its colors, so no escape sequence reaches the terminal and JUnit XML stays
well-formed.
"""

from __future__ import annotations

import json
from typing import Any

from wasmkit._text import printable as _p
from wasmkit.testing.engine import LogRecord
from wasmkit.testing.runner import CaseResult, SuiteResult

_COLORS = {"green": "32", "red": "31", "yellow": "33", "dim": "2", "bold": "1"}


def _style(text: str, color: str, enabled: bool) -> str:
    return f"\x1b[{_COLORS[color]}m{text}\x1b[0m" if enabled else text


def _size(n: int) -> str:
    return f"{n / 1024:.1f} KiB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MiB"


def summary_line(result: SuiteResult) -> str:
    line = f"{result.passed} passed, {result.failed} failed"
    if result.skipped:
        line += f", {result.skipped} skipped"
    if result.diverged:
        line += f", {result.diverged} diverged"
    return line


def header_lines(result: SuiteResult) -> list[str]:
    lines = []
    if result.module is not None:
        abis = ", ".join(v.value for v in result.module.abi_versions) or "none"
        lines.append(
            f"module {result.module_path} (sha256 {result.module.sha256[:12]}, "
            f"{_size(result.module.size)}, ABI {abis})"
        )
    else:
        lines.append(f"module {result.module_path}")
    for run in result.runs:
        where = f", artifacts in {run.artifacts}" if run.artifacts else ""
        lines.append(f"engine {run.engine}: {run.description}{where}")
        lines += [f"  note: {note}" for note in run.notes]
    return [_p(line) for line in lines]


def comparison_lines(result: SuiteResult, color: bool) -> list[str]:
    """``--engine both``: each diverging case with the two outcomes side by side."""
    if not result.comparisons:
        return []
    not_compared = [
        _p(
            f"  not compared: {c.name}: {', '.join(c.unchecked)}"
            if c.whole
            else f"  not compared in {c.name}: {', '.join(c.unchecked)}"
        )
        for c in result.comparisons
        if c.unchecked
    ]
    if not result.diverged:
        n = sum(1 for c in result.comparisons if not c.whole)
        return [_style(f"engines agree on all {n} compared cases", "green", color), *not_compared]
    lines = []
    for c in result.comparisons:
        if not c.diverged:
            continue
        left, right = c.left.engine, c.right.engine
        rows = [(_p(d.what), _p(d.left), _p(d.right)) for d in c.differences]
        width = max(len(what) for what, _, _ in rows)
        col = max([len(left)] + [len(observed) for _, observed, _ in rows])
        lines.append(f"  {_style('DIVERGE', 'red', color)}  {_p(c.name)}")
        lines.append(f"        {'':<{width}}  {left:<{col}}  {right}")
        lines += [f"        {what:<{width}}  {a:<{col}}  {b}" for what, a, b in rows]
    return lines + not_compared


def _case_lines(case: CaseResult, color: bool, show_engine: bool) -> list[str]:
    engine = f"[{case.engine}] " if show_engine else ""
    took = f" ({case.observed.duration_ms:.1f} ms)" if case.observed else ""
    name = _p(case.name)
    if case.skipped is not None:
        return [f"  {_style('SKIP', 'yellow', color)}  {engine}{name}: {_p(case.skipped)}"]
    if case.passed:
        return [f"  {_style('PASS', 'green', color)}  {engine}{name}{_style(took, 'dim', color)}"]
    lines = [f"  {_style('FAIL', 'red', color)}  {engine}{name}{_style(took, 'dim', color)}"]
    for m in case.mismatches:
        lines.append(f"        {_p(str(m))}")
    logged = case.observed.logs if case.observed is not None else None
    hint = _not_an_http_filter(logged)
    if hint is not None:
        lines.append(_style(f"        {hint}", "yellow", color))
    if logged:
        shown = _in_view(logged, CASE_LOG_LINES)
        lines.append(_style("        the filter logged during this case:", "dim", color))
        lines += [_log_line(r, "          ") for r in shown]
    return lines


#: A failed case shows the last lines the filter wrote during it (a panic's message, a trap).
CASE_LOG_LINES = 10


#: Go's runtime writes a panic in pieces ("panic: ", the message, the stack frame by frame)
#: and Envoy logs each write as a line, so the message scrolls out behind the stack.
_GO_PANIC = "panic: "


#: What the SDKs panic with when a stream reaches a plugin that made no HTTP context for it:
#: a network (TCP) filter, or a plugin of the VM only (proxy-wasm-go-sdk, the proxy-wasm crate).
_NO_HTTP_CONTEXT = (
    "invalid context on proxy_on_request_headers",  # Go: a TCP context
    "invalid context id on proxy_on_context_create",  # Go: neither HTTP nor TCP
    "missing ContextType on root_context",  # Rust: a root context alone
    "invalid context_id",  # Rust: a stream (TCP) context
)


def _not_an_http_filter(logged: tuple[LogRecord, ...] | None) -> str | None:
    said = next((m for r in logged or () for m in _NO_HTTP_CONTEXT if m in r.message), None)
    if said is None:
        return None
    return (
        f'hint: the filter made no HTTP context for the request (its SDK said "{said}"): '
        "a network (TCP) filter or a plugin without HTTP contexts; `wasmkit test` sends "
        "HTTP requests through an HTTP filter chain only"
    )


def _in_view(logged: tuple[LogRecord, ...], count: int) -> list[LogRecord]:
    """The last ``count`` records; a Go panic's message, if it scrolled out, first (joined)."""
    shown = list(logged[-count:])
    starts = [i for i, r in enumerate(logged) if r.message == _GO_PANIC]
    if not starts or starts[-1] >= len(logged) - count:
        return shown
    at = starts[-1]
    message = "".join(r.message for r in logged[at : at + 2])
    return [LogRecord(logged[at].level, message), LogRecord(logged[at].level, "..."), *shown[2:]]


def _log_line(record: LogRecord, indent: str) -> str:
    """``[level] message``; a message's further lines (a panic, a backtrace) indented below."""
    first, *rest = _p(record.message).split("\n")
    level = _p(str(record.level))
    return "\n".join([f"{indent}[{level}] {first}", *(f"{indent}  {x}" for x in rest)])


FILTER_LOG_LINES = 20


def filter_log_lines(result: SuiteResult, color: bool) -> list[str]:
    """The end of what the filter logged, to read beside failures (all of it with -v)."""
    lines = []
    for run in result.runs:
        if not run.filter_log:
            continue
        shown = _in_view(run.filter_log, FILTER_LOG_LINES)
        skipped = len(run.filter_log) - len(shown)
        more = f", last {len(shown)} of {len(run.filter_log)}" if skipped else ""
        lines.append(_style(f"filter log ({run.engine}{more}):", "dim", color))
        lines += [_log_line(r, "  ") for r in shown]
    return lines


def render_text(
    result: SuiteResult, *, color: bool = False, quiet: bool = False, verbose: bool = False
) -> str:
    lines: list[str] = [] if quiet else header_lines(result)
    if result.load_error is not None:
        failed = _p(f"the module failed to load: {result.load_error}")
        lines.append(_style(failed, "red", color))
        for problem in result.analysis:
            lines.append(_p(f"  wasmkit's check: {problem.message}"))
    show_engine = len({c.engine for c in result.cases}) > 1
    for case in result.cases:
        if quiet and case.passed:
            continue
        if result.load_error is not None and not show_engine:
            lines.append(f"  {_style('FAIL', 'red', color)}  {_p(case.name)}")
            continue
        lines += _case_lines(case, color, show_engine)
    lines += comparison_lines(result, color)
    if not result.ok or verbose:
        lines += filter_log_lines(result, color)
    if not quiet:
        lines.append(_style(f"ran in {result.duration_ms / 1000:.2f}s", "dim", color))
    verdict = "green" if result.ok else "red"
    lines.append(_style(summary_line(result), verdict, color))
    return "\n".join(lines) + "\n"


def _failure_text(case: CaseResult) -> str:
    lines = [str(m) for m in case.mismatches]
    logged = case.observed.logs if case.observed is not None else None
    hint = _not_an_http_filter(logged)
    if hint is not None:
        lines.append(hint)
    if logged:
        lines.append("the filter logged during this case:")
        lines += [_log_line(r, "  ") for r in _in_view(logged, CASE_LOG_LINES)]
    return _p("\n".join(lines))


def junit_xml(result: SuiteResult, suite_name: str = "wasmkit") -> str:
    import xml.etree.ElementTree as ET  # only runs asked for --junit-xml pay for it

    root = ET.Element("testsuites")
    suite = ET.SubElement(
        root,
        "testsuite",
        name=suite_name,
        tests=str(len(result.cases)),
        failures=str(result.failed),
        errors="0",
        skipped=str(result.skipped),
        time=f"{result.duration_ms / 1000:.3f}",
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="module", value=_p(str(result.module_path)))
    if result.module is not None:
        ET.SubElement(props, "property", name="module.sha256", value=result.module.sha256)
    for run in result.runs:
        ET.SubElement(props, "property", name=f"engine.{run.engine}", value=_p(run.description))
    for case in result.cases:
        element = ET.SubElement(
            suite,
            "testcase",
            classname=_p(f"{suite_name}.{case.engine}"),
            name=_p(case.name),
            time=f"{(case.observed.duration_ms if case.observed else 0) / 1000:.4f}",
        )
        if case.skipped is not None:
            ET.SubElement(element, "skipped", message=_p(case.skipped))
        elif case.mismatches:
            failure = ET.SubElement(
                element,
                "failure",
                message=_p(str(case.mismatches[0])),
                type="AssertionError",
            )
            failure.text = _failure_text(case)
    for c in result.comparisons:
        if c.diverged:
            element = ET.SubElement(
                suite, "testcase", classname=_p(f"{suite_name}.engines-agree"), name=_p(c.name)
            )
            top = c.differences[0]
            failure = ET.SubElement(
                element,
                "failure",
                message=_p(f"{top.what}: {c.left.engine} {top.left}, {c.right.engine} {top.right}"),
                type="Divergence",
            )
            failure.text = _p(
                "\n".join(
                    f"{d.what}: {c.left.engine} {d.left}, {c.right.engine} {d.right}"
                    for d in c.differences
                )
            )
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def to_json(result: SuiteResult) -> dict[str, Any]:
    def observed(case: CaseResult) -> dict[str, Any] | None:
        o = case.observed
        if o is None:
            return None
        return {
            "status": o.status,
            "headers": [list(h) for h in o.headers],
            "body": o.body.decode("utf-8", errors="replace"),
            "upstream": None
            if o.upstream is None
            else {
                "method": o.upstream.method,
                "path": o.upstream.path,
                "headers": [list(h) for h in o.upstream.headers],
                "body": o.upstream.body.decode("utf-8", errors="replace"),
            },
            "error": o.error,
            "details": o.details,
            "durationMs": round(o.duration_ms, 3),
        }

    summary: dict[str, int] = {
        "passed": result.passed,
        "failed": result.failed,
        "skipped": result.skipped,
    }
    extra: dict[str, Any] = {}
    if result.comparisons:  # --engine both
        summary["diverged"] = result.diverged
        extra["divergences"] = [
            {
                "name": c.name,
                "engines": [c.left.engine, c.right.engine],
                "differences": [d.__dict__ for d in c.differences],
            }
            for c in result.comparisons
            if c.diverged
        ]
        extra["notCompared"] = [
            {"name": c.name, "whole": c.whole, "what": list(c.unchecked)}
            for c in result.comparisons
            if c.unchecked
        ]
    return {
        "module": {
            "path": str(result.module_path),
            "sha256": result.module.sha256 if result.module else None,
            "abiVersions": [v.value for v in result.module.abi_versions] if result.module else [],
        },
        "engines": [
            {"name": r.engine, "description": r.description, "durationMs": round(r.duration_ms, 3)}
            for r in result.runs
        ],
        "loadError": result.load_error,
        "summary": summary,
        "ok": result.ok,
        "cases": [
            {
                "name": c.name,
                "engine": c.engine,
                "passed": c.passed,
                "skipped": c.skipped,
                "mismatches": [m.__dict__ for m in c.mismatches],
                "observed": observed(c),
            }
            for c in result.cases
        ],
        "durationMs": round(result.duration_ms, 3),
        **extra,
    }


def render_json(result: SuiteResult) -> str:
    return json.dumps(to_json(result), indent=2) + "\n"
