"""The one module of wasmkit that imports jinja2: sandboxed templates over directories.

Templates render source code and YAML, never HTML (no autoescape); an undefined variable is
an error, not an empty string; the sandbox keeps a template from reaching Python objects.
Used by the scaffolds (:mod:`wasmkit.scaffold`) and the Istio sidecar's bootstrap
(:func:`wasmkit.envoy.bootstrap.render_harness_template`); the test harness's bootstrap is built
as data, off jinja2's import time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import jinja2.sandbox

from wasmkit.errors import EnvironmentProblem


class Templates:
    """The templates under ``roots``; a name found in an earlier root wins."""

    def __init__(self, roots: Sequence[Path]):
        self._env = jinja2.sandbox.SandboxedEnvironment(
            loader=jinja2.FileSystemLoader([str(r) for r in roots]),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # renders source code and YAML, not HTML
            keep_trailing_newline=True,
        )

    def render(
        self, name: str, values: Mapping[str, Any], *, label: str | None = None, hint: str
    ) -> str:
        """Render template ``name``; EnvironmentProblem naming ``label`` if it does not."""
        try:
            return self._env.get_template(name).render(values)
        except jinja2.TemplateError as exc:
            raise EnvironmentProblem(
                f"{label or 'template ' + name} does not render: {exc}", hint=hint
            ) from None
