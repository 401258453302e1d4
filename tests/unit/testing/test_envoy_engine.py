"""Each case gets its share of the filter's lines in Envoy's log, by time and VM."""

from __future__ import annotations

from wasmkit.envoy.logs import FilterLine
from wasmkit.testing.engine import LogRecord
from wasmkit.testing.envoy_engine import logs_per_case


def line(ms: int, message: str, vm: str | None = "a") -> FilterLine:
    return FilterLine(ms, "info", message, vm)


def test_lines_go_to_the_case_running_when_they_were_written() -> None:
    lines = [
        line(5, "a starts"),
        line(6, "b starts", "b"),
        line(100, "first"),
        line(104, "first, after its answer"),
        line(105, "second"),
        line(106, "a timer of vm b", "b"),
        line(107, "a trap", None),
        line(200, "third, on vm b", "b"),
    ]
    per_case = logs_per_case(lines, [100, 105, 200], ["a", "a", "b"])
    assert [[r.message for r in records] for records in per_case] == [
        ["a starts", "first", "first, after its answer"],
        ["second", "a trap"],
        ["b starts", "third, on vm b"],  # a VM's start-up lines count for its first case
    ]
    assert per_case[0][0] == LogRecord("info", "a starts")


def test_no_lines_no_logs() -> None:
    assert logs_per_case([], [1, 2], ["a", "a"]) == [(), ()]
