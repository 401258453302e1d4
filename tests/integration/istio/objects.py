"""Istio objects written by the tests, for the process layer's own tests.

The product's objects come from wasmkit's deploy renderers; these are the shapes the tests
need on purpose, including the Istio 1.5 form that current Istio applies to nothing.
"""

from __future__ import annotations

import json
from typing import Any

from wasmkit.filter import FailurePolicy, envoy_wasm_filter
from wasmkit.mesh.engine import MeshTarget

NEW_NAMES = ("envoy.filters.network.http_connection_manager", "envoy.filters.http.router")
ISTIO_1_5_NAMES = ("envoy.http_connection_manager", "envoy.router")


def envoy_filter(target: MeshTarget, names: tuple[str, str] = NEW_NAMES) -> list[dict[str, Any]]:
    workload = target.workload
    return [
        {
            "apiVersion": "networking.istio.io/v1alpha3",
            "kind": "EnvoyFilter",
            "metadata": {"name": workload.name, "namespace": workload.namespace},
            "spec": {
                "workloadSelector": {"labels": workload.selector},
                "configPatches": [
                    {
                        "applyTo": "HTTP_FILTER",
                        "match": {
                            "context": "SIDECAR_INBOUND",
                            "listener": {
                                "filterChain": {
                                    "filter": {"name": names[0], "subFilter": {"name": names[1]}}
                                }
                            },
                        },
                        "patch": {
                            "operation": "INSERT_BEFORE",
                            "value": envoy_wasm_filter(target.spec),
                        },
                    }
                ],
            },
        }
    ]


def envoy_filter_istio_1_5(target: MeshTarget) -> list[dict[str, Any]]:
    return envoy_filter(target, ISTIO_1_5_NAMES)


_FAIL_STRATEGY = {
    FailurePolicy.FAIL_CLOSED: "FAIL_CLOSE",
    FailurePolicy.FAIL_OPEN: "FAIL_OPEN",
    FailurePolicy.FAIL_RELOAD: "FAIL_RELOAD",
}


def wasm_plugin(target: MeshTarget) -> list[dict[str, Any]]:
    workload = target.workload
    spec: dict[str, Any] = {
        "selector": {"matchLabels": workload.selector},
        "url": target.url,
        "pluginName": target.spec.root_id,
        "failStrategy": _FAIL_STRATEGY[target.spec.failure_policy],
    }
    if target.sha256:
        spec["sha256"] = target.sha256
    if target.spec.configuration:  # these tests give WasmPlugins JSON objects only
        spec["pluginConfig"] = json.loads(target.spec.configuration)
    return [
        {
            "apiVersion": "extensions.istio.io/v1alpha1",
            "kind": "WasmPlugin",
            "metadata": {"name": workload.name, "namespace": workload.namespace},
            "spec": spec,
        }
    ]
