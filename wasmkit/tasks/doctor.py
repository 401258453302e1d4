"""``wasmkit doctor``: what this machine can build and run, and how to install what is missing."""

from __future__ import annotations

import os
from dataclasses import dataclass

from wasmkit.build.language import Language
from wasmkit.build.languages import get_language, language_names
from wasmkit.build.tools import ToolStatus, probe
from wasmkit.errors import WasmkitError


@dataclass(frozen=True)
class LanguageReport:
    name: str
    display_name: str
    tools: tuple[ToolStatus, ...]

    @property
    def ready(self) -> bool:
        return all(t.present for t in self.tools)

    @property
    def install_commands(self) -> list[str]:
        return list(dict.fromkeys(t.tool.install for t in self.tools if not t.present))


@dataclass(frozen=True)
class Component:
    name: str
    present: bool
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class DoctorReport:
    languages: tuple[LanguageReport, ...]
    components: tuple[Component, ...]


def _language_report(name: str, path: str | None) -> LanguageReport:
    language: Language = get_language(name)
    return LanguageReport(
        language.name, language.display_name, tuple(probe(t, path) for t in language.tools)
    )


def _envoy(explicit: str | None) -> Component:
    from wasmkit.envoy import find_envoy

    try:
        binary = find_envoy(explicit)
    except WasmkitError as exc:
        return Component("envoy", False, exc.message, exc.hint or "")
    return Component("envoy", True, binary.description)


def _engine() -> Component:
    from wasmkit.build.engine import ENGINE_HINT, engine_answers

    url = engine_answers()
    if url is None:
        return Component("container engine", False, "none answers", ENGINE_HINT)
    return Component("container engine", True, f"answers at {url} (--runner container)")


def _istio() -> list[Component]:
    """One line per Istio release ready for `wasmkit test --istio` (istiod, agent, checker)."""
    from wasmkit.istio import MODULE_VERSIONS, istio_cache, ready_releases

    releases = ready_releases()
    newest = max(MODULE_VERSIONS, key=lambda v: tuple(int(p) for p in v.split(".")))
    if not releases:
        return [
            Component(
                "istio",
                False,
                f"no release in {istio_cache()} (wasmkit test --istio needs one)",
                f"wasmkit istio install {newest}",
            )
        ]
    parts = []
    for release in releases:
        missing = [
            name
            for name, path in (("agent", release.agent), ("istio-check", release.check))
            if path is None
        ]
        detail = f"istiod at {release.istiod}" + (
            f" (missing: {', '.join(missing)})" if missing else " + agent + istio-check"
        )
        parts.append(
            Component(
                f"istio {release.version}",
                not missing,
                detail,
                f"wasmkit istio install {release.version}",
            )
        )
    return parts


def diagnose(
    *, path: str | None = None, envoy: str | None = None, engine: bool = True
) -> DoctorReport:
    path = path if path is not None else os.environ.get("PATH")
    languages = tuple(_language_report(n, path) for n in language_names())
    components = [_envoy(envoy), *_istio()]
    if engine:
        components.append(_engine())
    return DoctorReport(languages, tuple(components))
