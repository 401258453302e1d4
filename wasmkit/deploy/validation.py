"""Istio's own validation of what deploy renders, where wasmkit's ``istio-check`` is installed.

``istio-check`` runs the release's validating webhook in process (``docs/istio-check.md``). An
object it refuses is never applied (exit 2, in Istio's words); its warnings become notes - most
usefully "using deprecated filter name", the one way to see that an EnvoyFilter in the Istio
1.5 form would match nothing on 1.19+. Every EnvoyFilter also gets Istio's blanket advisory
that EnvoyFilter "exposes internal implementation details"; that one says nothing about the
object, so it is left out. Without an installed checker for the release, nothing is checked
(logged at info level).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from wasmkit.errors import ToolNotFound, UsageError
from wasmkit.istio import check_objects, find_istio

log = logging.getLogger(__name__)

BLANKET_ADVISORY = "EnvoyFilter exposes internal implementation details"


def istio_check(objects: Sequence[Mapping[str, Any]], istio_version: str) -> tuple[str, ...]:
    """Warnings of Istio ``istio_version``'s webhook about ``objects`` (refuses invalid ones)."""
    try:
        release = find_istio(istio_version)
    except (ToolNotFound, UsageError) as exc:
        log.info("Istio's validation skipped: %s", exc.message)
        return ()
    if release.check is None:
        log.info("Istio's validation skipped: no istio-check for %s", release.version)
        return ()
    verdict = check_objects(release, objects)
    if not verdict.valid:
        raise UsageError(
            f"Istio {release.version}'s validation refuses what wasmkit rendered:\n  "
            + "\n  ".join(verdict.errors()),
            hint="nothing was applied; check --config, labels and --patch-context "
            "(a wasmkit bug if they are fine: please report it with -v output)",
        )
    return tuple(
        f"Istio {release.version} warns: {w}"
        for w in verdict.warnings()
        if BLANKET_ADVISORY not in w
    )
