"""Validate user files once, at the boundary, and explain every problem by path.

``load_model(path, Model)`` reads YAML (or JSON) and returns a pydantic model or
raises :class:`InputFileError` whose lines read ``cases[2].expect.status: ...``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from wasmkit._documents import MAX_INPUT_BYTES, load_yaml
from wasmkit.errors import InputFileError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for every model of user input: unknown keys are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Camel(Strict):
    """A :class:`Strict` model whose YAML keys are camelCase (``rootId``, ``failurePolicy``)."""

    model_config = Strict.model_config | {"alias_generator": to_camel}


#: A plugin configuration: a string as it is, or a mapping / list sent as JSON.
ConfigValue = str | dict[str, Any] | list[Any]


def _path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out or "(top level)"


def problems_of(error: ValidationError, prefix: Sequence[int | str] = ()) -> list[str]:
    lines = []
    for item in error.errors():
        # pydantic adds the union member's type name to the location; it helps nobody.
        loc = [p for p in item["loc"] if not (isinstance(p, str) and ("[" in p or p in _NOISE))]
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg == "Input should be a valid dictionary or instance of Matcher":
            msg = "give a string, null, or a mapping with one of regex, contains, present, equals"
        elif msg.startswith(("Value error, ", "Assertion failed, ")):
            msg = msg.split(", ", 1)[1]
        lines.append(f"{_path([*prefix, *loc])}: {msg}")
    return list(dict.fromkeys(lines))


_NOISE = {"str", "int", "dict", "list", "function-after", "function-before", "function-plain"}


def read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise InputFileError(str(path), ["(file): larger than 8 MiB"])
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputFileError(str(path), ["(file): does not exist"]) from None
    except UnicodeDecodeError:
        raise InputFileError(str(path), ["(file): is not UTF-8 text"]) from None
    except IsADirectoryError:
        raise InputFileError(str(path), ["(file): is a directory"]) from None


def validate(model: type[M], data: Any, source: str, *, hint: str | None = None) -> M:
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputFileError(source, problems_of(exc), hint=hint) from None


def load_model(path: Path, model: type[M], *, hint: str | None = None) -> M:
    return validate(model, load_yaml(read_text(path), str(path)), str(path), hint=hint)
