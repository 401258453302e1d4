"""The languages wasmkit builds: name -> :class:`~wasmkit.build.language.Language`.

Each language lives in its own module here and exports ``LANGUAGE``; adding one is a
new module plus one line below. Modules load lazily so a build imports only its own.
"""

from __future__ import annotations

import importlib

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
    module = importlib.import_module(f"wasmkit.build.languages.{module_name}")
    language = module.LANGUAGE
    assert isinstance(language, Language)
    return language
