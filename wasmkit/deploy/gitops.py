"""``--output-dir``: the rendered objects as files a team commits, plus a kustomization.yaml.

One YAML file per object (``<kind>-<name>.yaml``); filter objects are the kustomization's
``resources``, changes to existing workloads (the cache mount annotations) its ``patches``,
targeted by kind, name and namespace. Files are written atomically; file names come only from
kinds and from names the API server or :func:`wasmkit.deploy.spec.check_name` validated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from wasmkit._atomic import write_atomic
from wasmkit.errors import UsageError

KUSTOMIZATION = "kustomization.yaml"
_SAFE = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_FILTER_KINDS = {"EnvoyFilter", "WasmPlugin"}


def file_name(obj: dict[str, Any]) -> str:
    name = f"{obj['kind'].lower()}-{obj['metadata']['name']}"
    if not _SAFE.match(name) or len(name) > 240:
        raise UsageError(f"refusing to write an object named {obj['metadata']['name']!r} to a file")
    return name + ".yaml"


def write_output_dir(directory: Path, objects: Sequence[dict[str, Any]]) -> list[Path]:
    """Write ``objects`` and the kustomization into ``directory``; the paths written."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create the output directory {directory}: {exc.strerror}",
            hint="pass a directory you can write to with --output-dir",
        ) from None
    written: list[Path] = []
    resources: list[str] = []
    patches: list[dict[str, Any]] = []
    for obj in objects:
        name = file_name(obj)
        path = directory / name
        write_atomic(path, yaml.safe_dump(obj, sort_keys=False))
        written.append(path)
        if obj["kind"] in _FILTER_KINDS:
            resources.append(name)
        else:
            meta = obj["metadata"]
            target = {"kind": obj["kind"], "name": meta["name"], "namespace": meta["namespace"]}
            patches.append({"path": name, "target": target})
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    }
    if patches:
        kustomization["patches"] = patches
    path = directory / KUSTOMIZATION
    write_atomic(path, yaml.safe_dump(kustomization, sort_keys=False))
    return [*written, path]
