"""One filter spec, one rendering: the Envoy ``Wasm`` HTTP filter block.

The local test harness, a local Envoy's deployment and the Istio EnvoyFilter patch
all insert exactly what :func:`envoy_wasm_filter` returns, so a filter that
passes ``wasmkit test`` is configured the way it will be in the mesh.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from os import PathLike
from pathlib import PurePath
from typing import Any

WASM_FILTER_NAME = "envoy.filters.http.wasm"
WASM_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
STRING_VALUE_TYPE_URL = "type.googleapis.com/google.protobuf.StringValue"
V8_RUNTIME = "envoy.wasm.runtime.v8"


class FailurePolicy(StrEnum):
    FAIL_CLOSED = "FAIL_CLOSED"
    FAIL_OPEN = "FAIL_OPEN"
    FAIL_RELOAD = "FAIL_RELOAD"


@dataclass(frozen=True)
class LocalCode:
    filename: str


@dataclass(frozen=True)
class RemoteCode:
    uri: str
    cluster: str
    sha256: str
    timeout_s: int = 10


@dataclass(frozen=True)
class FilterSpec:
    """Everything that decides how a proxy runs one wasm filter."""

    name: str
    root_id: str
    code: LocalCode | RemoteCode
    configuration: str = ""
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED
    vm_id: str | None = None
    runtime: str = V8_RUNTIME
    #: Envoy before 1.27 (Istio < 1.19) knows only the boolean ``fail_open``.
    legacy_fail_open: bool = False


def filter_name_for(module_path: str | PathLike[str]) -> str:
    """A filter name derived from a module file name: ``my_filter.wasm`` -> ``my-filter``."""
    stem = PurePath(module_path).stem.lower()
    cleaned = "".join(c if c.isalnum() else "-" for c in stem).strip("-")
    return cleaned or "filter"


def plugin_configuration(config: str | Mapping[str, Any] | list[Any] | None) -> str:
    """The plugin configuration string: strings as they are, mappings and lists as compact JSON."""
    if config is None:
        return ""
    if isinstance(config, str):
        return config
    return json.dumps(config, separators=(",", ":"), sort_keys=True)


def envoy_wasm_filter(spec: FilterSpec) -> dict[str, Any]:
    """Render ``spec`` as an ``http_filters`` entry (name + typed_config)."""
    if isinstance(spec.code, LocalCode):
        code: dict[str, Any] = {"local": {"filename": spec.code.filename}}
    else:
        code = {
            "remote": {
                "http_uri": {
                    "uri": spec.code.uri,
                    "cluster": spec.code.cluster,
                    "timeout": f"{spec.code.timeout_s}s",
                },
                "sha256": spec.code.sha256,
            }
        }
    config: dict[str, Any] = {
        "name": spec.name,
        "root_id": spec.root_id,
        "vm_config": {
            "vm_id": spec.vm_id or spec.name,
            "runtime": spec.runtime,
            "code": code,
        },
    }
    if spec.configuration:
        config["configuration"] = {"@type": STRING_VALUE_TYPE_URL, "value": spec.configuration}
    if spec.legacy_fail_open:
        if spec.failure_policy is FailurePolicy.FAIL_OPEN:
            config["fail_open"] = True
    else:
        config["failure_policy"] = spec.failure_policy.value
    return {"name": WASM_FILTER_NAME, "typed_config": {"@type": WASM_TYPE_URL, "config": config}}
