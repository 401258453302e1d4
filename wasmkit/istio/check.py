"""Istio's own validation of Istio objects, offline: the ``istio-check`` binary of a release.

``istio-check`` (``harness/istio-check``, built with the release's istiod) runs istiod's
validating webhook in process over YAML documents and prints its verdicts as JSON; the
contract is in ``docs/istio-check.md``. This module runs it and types what it says.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from wasmkit.errors import ProcessFailed, ToolNotFound, UsageError
from wasmkit.istio.install import IstioRelease, find_istio, install_hint

_TIMEOUT_S = 60


@dataclass(frozen=True)
class ObjectVerdict:
    """What Istio's webhook said about one object."""

    kind: str
    namespace: str
    name: str
    checked: bool  # False: not an Istio kind, the webhook never sees it
    valid: bool
    errors: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def label(self) -> str:
        return (
            f"{self.kind} {self.namespace}/{self.name}"
            if self.namespace
            else (f"{self.kind} {self.name}")
        )


@dataclass(frozen=True)
class ConfigCheck:
    istio: str
    objects: tuple[ObjectVerdict, ...]

    @property
    def valid(self) -> bool:
        return all(o.valid for o in self.objects)

    def warnings(self) -> list[str]:
        return [f"{o.label}: {w}" for o in self.objects for w in o.warnings]

    def errors(self) -> list[str]:
        return [f"{o.label}: {e}" for o in self.objects for e in o.errors]

    def as_json(self) -> dict[str, Any]:
        return {
            "istio": self.istio,
            "valid": self.valid,
            "objects": [asdict(o) for o in self.objects],
        }


def check_objects(release: IstioRelease, objects: Sequence[Mapping[str, Any]]) -> ConfigCheck:
    """Validate ``objects`` (Kubernetes objects as mappings) with Istio ``release``'s webhook."""
    # JSON, not YAML: Go's YAML 1.1 would read an unquoted `y` or `on` as a boolean.
    text = "\n".join(json.dumps(dict(o)) for o in objects)
    return _run(release, ["-"], text.encode())


def check_files(version: str, files: Sequence[Path]) -> ConfigCheck:
    """Validate the YAML ``files`` with Istio ``version``'s webhook (``wasmkit istio check``)."""
    for path in files:
        if not path.is_file():
            raise UsageError(f"{path} does not exist")
    return _run(find_istio(version), [str(p) for p in files], b"")


def _run(release: IstioRelease, args: list[str], stdin: bytes) -> ConfigCheck:
    if release.check is None:
        raise ToolNotFound(
            f"wasmkit's istio-check for Istio {release.version} is not built",
            hint=install_hint(release.version),
        )
    command = [str(release.check), *args]
    try:
        done = subprocess.run(
            command, input=stdin, capture_output=True, timeout=_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ProcessFailed(
            f"istio-check did not run: {exc}", command=command, returncode=None
        ) from None
    if done.returncode == 2:
        raise UsageError(
            "istio-check could not read the objects: "
            + done.stderr.decode(errors="replace").strip()
        )
    if done.returncode != 0 and done.returncode != 1:
        raise ProcessFailed(
            f"istio-check failed (exit {done.returncode})",
            command=command,
            returncode=done.returncode,
            output=done.stderr.decode(errors="replace"),
        )
    return parse_report(json.loads(done.stdout))


def parse_report(data: Mapping[str, Any]) -> ConfigCheck:
    return ConfigCheck(
        istio=str(data.get("istio", "")),
        objects=tuple(
            ObjectVerdict(
                kind=str(o.get("kind", "")),
                namespace=str(o.get("namespace", "")),
                name=str(o.get("name", "")),
                checked=bool(o.get("checked")),
                valid=bool(o.get("valid")),
                errors=tuple(str(e) for e in o.get("errors") or ()),
                warnings=tuple(str(w) for w in o.get("warnings") or ()),
            )
            for o in data.get("objects") or ()
        ),
    )
