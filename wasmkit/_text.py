"""Text from someone else, made safe to print on a terminal or to put in XML.

A registry's error message, an image's root ids, a test file's case names, a filter's log
lines: any of them may hold escape sequences that a terminal acts on (clear the screen, set
the window title, write the clipboard with OSC 52), a right-to-left override that disguises
what is shown, or characters XML 1.0 cannot carry. :func:`printable` shows each such character
as a visible escape (``\\x1b``, ``\\u202e``) and keeps everything else, newlines and tabs
included. Every place that prints or reports such text goes through it.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates,
# lone surrogates and the two non-characters XML refuses.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\ud800-\udfff\ufffe\uffff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control or deceptive character shown as an escape."""
    return _UNSAFE.sub(_escape, text)
