"""wasmkit.errors: the drawn trees are the classes, and no exception class lives elsewhere."""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import re

import wasmkit
from wasmkit import errors

_NODE = re.compile(r"^    (?P<indent>(?:\|   |    )*)(?:\+-- )?(?P<name>[A-Z]\w+)(?P<rest>.*)$")


def _drawn() -> dict[str, tuple[str | None, int | None]]:
    """name -> (drawn parent, drawn exit code) for every node of the docstring's trees."""
    doc = errors.__doc__ or ""
    nodes: dict[str, tuple[str | None, int | None]] = {}
    stack: list[str] = []
    for line in doc.splitlines():
        match = _NODE.match(line)
        if match is None:
            continue
        depth = len(match["indent"]) // 4 + (1 if "+--" in line else 0)
        del stack[depth:]
        code = re.match(r"\s+(\d+)\s", match["rest"] + " ")
        nodes[match["name"]] = (stack[-1] if stack else None, int(code[1]) if code else None)
        stack.append(match["name"])
    return nodes


def _defined_in_errors() -> dict[str, type[BaseException]]:
    return {
        name: cls
        for name, cls in vars(errors).items()
        if inspect.isclass(cls)
        and issubclass(cls, BaseException)
        and cls.__module__ == errors.__name__
    }


def test_every_class_is_drawn_under_its_base_with_its_exit_code() -> None:
    drawn = _drawn()
    classes = _defined_in_errors()
    assert set(classes) == {n for n in drawn if not hasattr(builtins, n)}
    for name, (parent, code) in drawn.items():
        if parent is None:
            continue
        cls = classes[name]
        assert cls.__bases__[0].__name__ == parent, f"{name} is drawn under {parent}"
        if issubclass(cls, errors.WasmkitError):
            assert cls.exit_code == code, f"{name} is drawn with exit code {code}"
        else:
            assert code is None


def test_no_exception_class_is_defined_outside_errors_py() -> None:
    strays = []
    for info in pkgutil.walk_packages(wasmkit.__path__, "wasmkit."):
        if info.name == errors.__name__ or info.name.endswith("pytest_plugin"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseException)
                and obj.__module__ == module.__name__
            ):
                strays.append(f"{module.__name__}.{name}")
    assert strays == []


def test_no_error_shadows_a_builtin() -> None:
    assert [n for n in _defined_in_errors() if hasattr(builtins, n)] == []
