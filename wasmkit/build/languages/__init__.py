"""The languages wasmkit builds: name -> :class:`~wasmkit.build.language.Language`.

Each language lives in its own module here and exports ``LANGUAGE``; adding one is a
new module plus one line below. Modules load lazily so a build imports only its own.
"""

from __future__ import annotations

import importlib
import importlib.util

from wasmkit.build.language import Language
from wasmkit.errors import UsageError

#: --language value -> module under wasmkit.build.languages
LANGUAGES: dict[str, str] = {
    "cpp": "cpp",
    "rust": "rust",
    "assemblyscript": "assemblyscript",
    "go": "go",
}


def language_names() -> list[str]:
    return list(LANGUAGES)


def get_language(name: str) -> Language:
    """The :class:`Language` called ``name``; UsageError (exit 2) for an unknown one."""
    module_name = LANGUAGES.get(name)
    if module_name is None:
        raise UsageError(
            f"unknown language {name!r}",
            hint=f"use one of: {', '.join(LANGUAGES)}",
        )
    try:
        module = importlib.import_module(f"wasmkit.build.languages.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"wasmkit.build.languages.{module_name}":
            raise
        raise UsageError(
            f"language {name!r} is not available in this wasmkit",
            hint=f"use one of: {', '.join(n for n in LANGUAGES if _present(n))}",
        ) from None
    language = module.LANGUAGE
    assert isinstance(language, Language)
    return language


def _present(name: str) -> bool:
    return importlib.util.find_spec(f"wasmkit.build.languages.{LANGUAGES[name]}") is not None
