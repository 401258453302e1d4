"""The README chapter "From the blog post to wasmkit" as data: its commands, the output it
shows after each, the FilterDeployment document and the status it shows - so the walkthrough
test runs exactly those commands and compares what they print with what the chapter says.

A ``console`` block holds ``$ command`` lines (``\\`` continues one) each followed by its output;
a ``yaml`` block starting with ``status:`` is the FilterDeployment's status the test read.
Output is compared after :func:`normalise` (digests, sizes and timings differ between runs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TITLE = "## From the blog post to wasmkit"
_FENCE = re.compile(r"```(console|yaml)\n(.*?)```", re.S)
_NOISE = [
    (re.compile(r"\b[0-9a-f]{64}\b"), "<sha256>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<sha>"),
    (re.compile(r"\b\d+(\.\d+)? ?(ms|s|KiB|MiB)\b"), "<n>"),
    (re.compile(r"runner (local|container)"), "runner <runner>"),
]


def normalise(text: str) -> str:
    for pattern, token in _NOISE:
        text = pattern.sub(token, text)
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


@dataclass
class Chapter:
    path: Path
    text: str  # the whole README
    start: int  # the chapter's span in it
    end: int

    @classmethod
    def read(cls, path: Path) -> Chapter:
        text = path.read_text()
        start = text.index(TITLE)
        nxt = text.find("\n## ", start + len(TITLE))
        return cls(path, text, start, len(text) if nxt < 0 else nxt + 1)

    @property
    def body(self) -> str:
        return self.text[self.start : self.end]

    def _blocks(self) -> list[re.Match[str]]:
        return list(_FENCE.finditer(self.body))

    def commands(self) -> list[str]:
        return [c for m in self._blocks() if m[1] == "console" for c, _, _ in _console(m[2])]

    def shown(self) -> list[str]:
        """The output after each command, then each status block, in the chapter's order."""
        out: list[str] = []
        for m in self._blocks():
            if m[1] == "console":
                out += [o for _, _, o in _console(m[2])]
            elif m[2].startswith("status:"):
                out.append(m[2])
        return out

    def filter_deployment(self) -> dict[str, Any]:
        for m in self._blocks():
            if m[1] == "yaml" and "kind: FilterDeployment" in m[2]:
                return dict(yaml.safe_load(m[2]))
        raise AssertionError("the chapter shows no FilterDeployment")

    def check(self, outputs: list[str], *, update: bool) -> None:
        """Compare (or, with ``update``, write) the output the chapter shows."""
        if update:
            self._write(outputs)
            return
        shown = self.shown()
        assert len(shown) == len(outputs), "the chapter shows another number of outputs"
        for i, (theirs, ours) in enumerate(zip(shown, outputs, strict=True)):
            assert normalise(theirs) == normalise(ours), (
                f"README output #{i} is not what the run printed "
                f"(WASMKIT_UPDATE_README=1 rewrites it):\n--- README\n{theirs}\n--- run\n{ours}"
            )

    def _write(self, outputs: list[str]) -> None:
        pending = list(outputs)
        parts: list[str] = []
        last = 0
        for m in self._blocks():
            parts.append(self.body[last : m.start(2)])
            if m[1] == "console":
                pairs = _console(m[2])
                mine, pending = pending[: len(pairs)], pending[len(pairs) :]
                texts = (raw + _ends(new) for (_, raw, _), new in zip(pairs, mine, strict=True))
                parts.append("".join(texts))
            elif m[2].startswith("status:"):
                parts.append(_ends(pending.pop(0)))
            else:
                parts.append(m[2])
            last = m.end(2)
        parts.append(self.body[last:])
        self.path.write_text(self.text[: self.start] + "".join(parts) + self.text[self.end :])


def _ends(text: str) -> str:
    text = text.strip("\n")
    return text + "\n" if text else ""


def _console(block: str) -> list[tuple[str, str, str]]:
    """(command, its text, output) of a console block; ``\\`` at a line's end continues one."""
    pairs: list[tuple[str, str, str]] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            raise AssertionError(f"a console block starts with output: {line!r}")
        command, raw = line[2:], line + "\n"
        while command.endswith("\\"):
            i += 1
            command = command[:-1].rstrip() + " " + lines[i].strip()
            raw += lines[i] + "\n"
        i += 1
        output: list[str] = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        pairs.append((command, raw, "\n".join(output)))
    return pairs
