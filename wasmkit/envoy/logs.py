"""Read Envoy's log: its own reasons for refusing a module or a configuration.

Envoy 1.40 writes ``[time][thread][level][logger] [source:line] message``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LOG_LINE = re.compile(r"^\[[^\]]+\]\[\d+\]\[(\w+)\]\[(\w+)\] (?:\[[^\]]+\] )?(.*)$")
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


def parse_log(text: str) -> list[LogEntry]:
    entries = []
    for line in text.splitlines():
        match = _LOG_LINE.match(line)
        if match:
            entries.append(LogEntry(*match.groups()))
    return entries


def _strip(message: str) -> str:
    message = message.strip()
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def load_failure_reason(log_text: str) -> str | None:
    """The first thing Envoy said about a module it refused, in its own words."""
    entries = parse_log(log_text)
    # A warning can carry the cause ("... Envoy was compiled without support for it").
    wasm_errors = [
        _strip(e.message)
        for e in entries
        if e.logger == "wasm" and e.level in ("warning", "error", "critical")
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
