"""Every YAML or JSON document from a user or a registry is parsed here, within bounds.

Test files, ``wasmkit.yaml``, manifests, indexes, image configs, Docker's ``config.json`` and
wasmkit's ``credentials.json`` come from someone else. A 541-byte YAML alias bomb expands to
10^8 nodes; a list nested 100 000 deep ends the parser in a RecursionError. So every document
is bounded in bytes (the caller's limit), in nesting depth (:data:`MAX_DEPTH`) and, for YAML,
in nodes counted after aliases are expanded (:data:`MAX_NODES`); a recursive alias is refused.
Breaking a bound is an :class:`~wasmkit.errors.InputFileError` (exit 2) naming the document.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasmkit.errors import InputFileError

if TYPE_CHECKING:
    import yaml

#: A user's input file (a test suite, wasmkit.yaml) larger than this is refused.
MAX_INPUT_BYTES = 8 * 1024 * 1024
#: Deeper than any document wasmkit reads (a test case is ~6 levels; a manifest ~4).
MAX_DEPTH = 64
#: Nodes after alias expansion: a large test suite has a few thousand.
MAX_NODES = 200_000


def _refuse(source: str, problem: str, hint: str | None = None) -> InputFileError:
    return InputFileError(
        source,
        [f"(document): {problem}"],
        hint=hint or "this is not a document wasmkit reads; check where it came from",
    )


def _too_deep(source: str) -> InputFileError:
    return _refuse(source, f"nested deeper than {MAX_DEPTH} levels")


def load_json(data: bytes | str, source: str, *, max_bytes: int) -> Any:
    """Parse JSON of at most ``max_bytes`` and :data:`MAX_DEPTH` levels."""
    if len(data) > max_bytes:
        raise _refuse(source, f"larger than {max_bytes} bytes")
    try:
        value = json.loads(data)
    except RecursionError:
        raise _too_deep(source) from None
    except ValueError as exc:  # also UnicodeDecodeError, and integers of 4300+ digits
        raise _refuse(source, f"is not valid JSON ({str(exc)[:100]})", "fix or remove it") from None
    _check_depth(value, source)
    return value


def _check_depth(value: Any, source: str) -> None:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _too_deep(source)
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def load_yaml(text: str, source: str) -> Any:
    """Parse one YAML document (JSON is YAML) within :data:`MAX_DEPTH` and :data:`MAX_NODES`.

    With libyaml, its parser reads the text (a 10-case suite in ~1 ms instead of ~8) and the
    bounds are kept where they always were, in the composer (Python, here); a document it
    refuses is read again by PyYAML's own parser, so that errors read as they always did.
    """
    import yaml  # only the commands that read YAML pay for it

    fast, exact = _bounded_loaders(yaml)
    try:
        return _load(yaml, fast or exact, text, source)
    except yaml.YAMLError as exc:
        if fast is None:
            raise _syntax_error(exc, source) from None
    try:
        return _load(yaml, exact, text, source)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, source) from None


def _load(yaml: Any, loader_class: type[Any], text: str, source: str) -> Any:
    loader = loader_class(text, source)
    try:
        return loader.get_single_data()
    except RecursionError:
        raise _too_deep(source) from None
    finally:
        loader.dispose()


def _syntax_error(exc: Exception, source: str) -> InputFileError:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
    problem = getattr(exc, "problem", None) or str(exc)
    return InputFileError(source, [f"{where}: {problem}"], hint="fix the YAML syntax")


_LOADERS: tuple[type[Any] | None, type[Any]] | None = None


def _bounded_loaders(yaml: Any) -> tuple[type[Any] | None, type[Any]]:
    """(libyaml's parser with the bounded composer, or None without libyaml; PyYAML's)."""
    global _LOADERS
    if _LOADERS is not None:
        return _LOADERS

    class Bounds:
        """Counts depth while composing and expanded nodes once composed."""

        source: str
        depth: int

        def compose_node(self, parent: Any, index: Any) -> Any:
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise _too_deep(self.source)
                return super().compose_node(parent, index)  # type: ignore[misc]
            finally:
                self.depth -= 1

        def compose_document(self) -> Any:
            node = super().compose_document()  # type: ignore[misc]
            _measure(node, self.source)
            return node

    class BoundedLoader(Bounds, yaml.SafeLoader):  # type: ignore[misc]
        def __init__(self, text: str, source: str):
            yaml.SafeLoader.__init__(self, text)
            self.source, self.depth = source, 0

    fast = None
    if getattr(yaml, "__with_libyaml__", False):
        from yaml._yaml import CParser
        from yaml.composer import Composer
        from yaml.constructor import SafeConstructor
        from yaml.resolver import Resolver

        # Composer before CParser: libyaml scans and parses (its parser keeps its own stacks,
        # no C recursion), PyYAML's composer - bounded above - builds the nodes.
        class BoundedCLoader(Bounds, Composer, CParser, SafeConstructor, Resolver):
            def __init__(self, text: str, source: str):
                CParser.__init__(self, text)
                Composer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)
                self.source, self.depth = source, 0

        fast = BoundedCLoader
    _LOADERS = (fast, BoundedLoader)
    return _LOADERS


def _children(node: yaml.Node) -> list[yaml.Node]:
    value = node.value
    if not isinstance(value, list):
        return []  # a scalar
    if value and isinstance(value[0], tuple):  # a mapping: (key, value) pairs
        return [part for pair in value for part in pair]
    return value


def _measure(root: yaml.Node, source: str) -> None:
    """Count nodes and depth as if every alias were expanded, visiting each node once."""
    done: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded nodes, expanded depth)
    open_: set[int] = set()  # nodes on the current path: meeting one again is a cycle
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        kids = _children(node)
        if finished:
            nodes = 1 + sum(done[id(k)][0] for k in kids)
            depth = 1 + max((done[id(k)][1] for k in kids), default=0)
            if nodes > MAX_NODES:
                raise _refuse(source, f"expands to more than {MAX_NODES} nodes (aliases)")
            if depth > MAX_DEPTH:
                raise _too_deep(source)
            done[key] = (nodes, depth)
            open_.discard(key)
            continue
        if key in done:
            continue
        if key in open_:
            raise _refuse(source, "an alias refers to a node that contains it (a cycle)")
        open_.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in done)


def read_json_file(path: Path, *, max_bytes: int) -> Any:
    """A JSON file's value, None when it does not exist; bounded as :func:`load_json`."""
    try:
        with path.open("rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise _refuse(str(path), "is a directory", "remove it or point to a file") from None
    return load_json(data, str(path), max_bytes=max_bytes)


def require_object(
    value: Any, source: str, fields: Mapping[str, type] | None = None
) -> dict[str, Any]:
    """``value`` as a JSON object whose listed fields, when present, have the listed types."""
    if not isinstance(value, dict):
        raise _refuse(source, "is not a JSON object", "fix or remove it")
    problems = [
        f"{name}: should be a {'mapping' if kind is dict else kind.__name__}"
        for name, kind in (fields or {}).items()
        if value.get(name) is not None and not isinstance(value[name], kind)
    ]
    if problems:
        raise InputFileError(source, problems, hint="fix or remove it")
    return value
