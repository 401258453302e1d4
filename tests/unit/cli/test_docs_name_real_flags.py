"""Docs are code: every ``wasmkit CMD --flag`` named in README, docs/, docstrings, hints and
scaffolds is a real command with that flag.

A reference is ``wasmkit`` followed by a word where a command is written: right after a
backtick (``wasmkit build -v``: the word must be a command), or after a quote or at the start
of a line (``hint="wasmkit test --module ..."``, examples in docstrings and code blocks: there
only when the word is a command, since messages and prose may start with "wasmkit"). The flags
are the ``--long`` options up to the closing backtick or quote, a pipe, a semicolon, ``&&``,
a parenthesis, the next ``wasmkit`` or the end of the line.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from tests.unit.cli.commands import resolve
from wasmkit.cli.main import cli

REPO = Path(__file__).resolve().parents[3]
SOURCES = (
    ["README.md", "CONTRIBUTING.md", "CHANGELOG.md"],
    ["docs", "wasmkit", "scaffolds", "harness", "examples", "tests", "bench", ".ci"],
)
_TEXT = {
    "",
    ".sh",
    ".Containerfile",
    ".md",
    ".py",
    ".j2",
    ".yaml",
    ".yml",
    ".toml",
    ".txt",
    ".h",
    ".cc",
    ".rs",
    ".go",
    ".ts",
}
_REF = re.compile(
    r"(?P<lead>`|\"|'|^[ \t#/*-]*(?:\$ )?)wasmkit (?P<words>[a-z][a-z-]*(?: [a-z][a-z-]*)?)"
    r"(?P<rest>(?:(?!wasmkit )[^`\"'\n|;&(])*)",
    re.MULTILINE,
)
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
#: Phrases that read like a command but name something else (kept short, with the reason).
NOT_COMMANDS = {
    "emulator": "the emulator engine's description, 'wasmkit emulator (wasmtime, in process)'",
}
#: Commands and flags that other open issues add; their docs landed first. Remove each entry
#: when its command lands (the test then checks it like any other).
PENDING: dict[tuple[str, ...], str] = {}


def _files() -> list[Path]:
    top, trees = SOURCES
    found = [REPO / name for name in top if (REPO / name).is_file()]
    for tree in trees:
        root = REPO / tree
        if root.is_dir():
            found += [p for p in sorted(root.rglob("*")) if p.is_file() and p.suffix in _TEXT]
    return [p for p in found if p != Path(__file__).resolve()]  # its own made-up examples


def _flags(command: click.Command) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
    return names


def _references() -> list[tuple[str, tuple[str, ...], list[str], bool]]:
    """(where, command words, flags, strict) for every reference in the sources."""
    refs = []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _REF.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            where = f"{path.relative_to(REPO)}:{line}"
            strict = match["lead"] == "`"
            refs.append(
                (where, tuple(match["words"].split()), _FLAG.findall(match["rest"]), strict)
            )
    return refs


def _check(words: tuple[str, ...], flags: list[str], strict: bool) -> str | None:
    if words[0] in NOT_COMMANDS or (words[0],) in PENDING:
        return None
    flags = [f for f in flags if (words[0], f) not in PENDING]
    command = resolve(words[:1])
    if command is None:
        return f"`wasmkit {words[0]}` is not a command" if strict else None
    if isinstance(command, click.Group) and len(words) > 1:
        sub = resolve(words)
        if sub is None:
            return f"`wasmkit {' '.join(words)}`: {words[1]!r} is not a subcommand"
        command = sub
    known = _flags(command) | _flags(cli)
    missing = [f for f in flags if f not in known]
    name = " ".join(
        ["wasmkit", words[0], *words[1:2]]
        if isinstance(command, click.Group)
        else ["wasmkit", words[0]]
    )
    return f"`{name}` has no {', '.join(missing)}" if missing else None


def test_every_named_command_and_flag_exists() -> None:
    refs = _references()
    assert len(refs) > 50  # the scan finds the README's and the hints' examples
    problems = [
        f"{where}: {p}"
        for where, words, flags, strict in refs
        if (p := _check(words, flags, strict))
    ]
    assert problems == []


def test_the_check_catches_a_made_up_command_and_flag() -> None:
    assert _check(("check",), [], strict=True) == "`wasmkit check` is not a command"
    assert _check(("test",), ["--list"], strict=True) == "`wasmkit test` has no --list"
    assert _check(("test",), ["--module", "--verbose"], strict=True) is None


def test_pending_entries_are_still_missing() -> None:
    landed = []
    for entry, why in PENDING.items():
        command = resolve(entry[:1])
        if command is not None and (len(entry) == 1 or entry[1] in _flags(command)):
            landed.append(f"{entry} ({why})")
    assert landed == [], "these have landed: remove them from PENDING"


_CITED_DOC = re.compile(r"\b(docs/[\w.-]+\.md)\b")


def test_the_project_cites_only_files_it_has() -> None:
    """No REFERENCE.md (it is not in the project); every docs/NAME.md cited exists."""
    outside, missing = [], []
    for path in _files():
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(REPO)
        if "REFERENCE.md" in text or "REFERENCE s." in text:
            outside.append(str(where))
        missing += [f"{where}: {d}" for d in _CITED_DOC.findall(text) if not (REPO / d).is_file()]
    assert outside == [] and missing == []
