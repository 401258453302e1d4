"""Read Envoy's log: its own reasons for refusing a module or a configuration, and the
filter's own lines.

Envoy 1.36-1.40 write ``[time][thread][level][logger] [source:line] message``, the time in
local time to the millisecond (truncated); a message with line breaks continues on lines of
its own. A filter's ``proxy_log`` line reads ``wasm log <prefix>: <message>`` where the prefix
is ``<plugin name> <root id> <vm id>`` on a stream context and ``<root id> <vm id>`` on the
root context, empty parts left out (so zero to three words, the vm id last); a trap reads
``Function: <callback> failed: <reason>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_LOG_LINE = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3})\]\[\d+\]\[(\w+)\]\[(\w+)\] "
    r"(?:\[[^\]]+\] )?(.*)$"
)
#: Up to three prefix words, none ending in ":", then ": " (a colon in the message is kept).
_WASM_LOG = re.compile(r"^wasm log((?: \S*[^\s:]){0,3}): (.*)$", re.DOTALL)
_TRAP = re.compile(r"^Function: (\S+ failed: .*)$", re.DOTALL)
#: Envoy's level names -> proxy_log's (wasmkit.codes.LOG_LEVELS).
_LEVELS = {"warning": "warn"}
#: Wasm log lines that only restate the first reason.
_ECHOES = (
    "Failed to initialize Wasm code",
    "Failed to load Wasm code",
    "Plugin configured to fail",
    "failed to load",
    "Unable to create Wasm",
)
_PREFIXES = ("Wasm VM failed ",)


@dataclass(frozen=True)
class LogEntry:
    level: str
    logger: str
    message: str
    #: When Envoy wrote it: milliseconds since the epoch (Envoy truncates to the millisecond).
    time_ms: int = 0


@dataclass(frozen=True)
class FilterLine:
    """One line the filter logged (or a trap Envoy reported), with where and when."""

    time_ms: int
    level: str  # trace debug info warn error critical
    message: str
    #: The VM that wrote it (the prefix's last word); None for a trap line.
    vm_id: str | None


def _epoch_ms(stamp: str) -> int:
    return round(datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp() * 1000)


def parse_log(text: str) -> list[LogEntry]:
    """Every entry of an Envoy log; lines that do not start an entry continue the last one."""
    entries: list[LogEntry] = []
    for line in text.splitlines():
        match = _LOG_LINE.match(line)
        if match:
            stamp, level, logger, message = match.groups()
            entries.append(LogEntry(level, logger, message, _epoch_ms(stamp)))
        elif entries:
            last = entries[-1]
            entries[-1] = LogEntry(last.level, last.logger, f"{last.message}\n{line}", last.time_ms)
    return entries


def filter_lines(text: str) -> list[FilterLine]:
    """The filter's own lines (``proxy_log``) and its traps, in the order Envoy wrote them."""
    lines = []
    for entry in parse_log(text):
        if entry.logger != "wasm":
            continue
        level = _LEVELS.get(entry.level, entry.level)
        logged = _WASM_LOG.match(entry.message)
        if logged:
            words = logged.group(1).split()
            vm_id = words[-1] if words else None
            lines.append(FilterLine(entry.time_ms, level, logged.group(2), vm_id))
            continue
        trap = _TRAP.match(entry.message)
        if trap:
            lines.append(FilterLine(entry.time_ms, level, trap.group(1), None))
    return lines


def _strip(message: str) -> str:
    message = message.strip()
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def load_failure_reason(log_text: str) -> str | None:
    """The first thing Envoy said about a module it refused, in its own words."""
    entries = parse_log(log_text)
    # A warning can carry the cause ("... Envoy was compiled without support for it"); the
    # filter's own lines (an SDK logs at critical level before refusing its configuration)
    # are its words, not Envoy's reason.
    wasm_errors = [
        _strip(e.message)
        for e in entries
        if e.logger == "wasm"
        and e.level in ("warning", "error", "critical")
        and not _WASM_LOG.match(e.message)
    ]
    for message in wasm_errors:
        if not any(echo in message for echo in _ECHOES):
            return message
    if wasm_errors:
        return wasm_errors[0]
    return None


def startup_error(log_text: str) -> str | None:
    """Envoy's critical complaint about its configuration (not about a module)."""
    for entry in parse_log(log_text):
        if entry.level == "critical" and "initializing" in entry.message:
            return entry.message.strip()
    return None
