"""Every Kubernetes object a spec needs, from the one renderer per wire format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wasmkit.deploy.envoyfilter import render_envoyfilter
from wasmkit.deploy.spec import Api, DeploymentSpec, Workload
from wasmkit.deploy.wasmplugin import render_wasmplugin


def render_objects(
    spec: DeploymentSpec, workloads: Sequence[Workload] | None
) -> list[dict[str, Any]]:
    """One WasmPlugin, or one EnvoyFilter per workload.

    ``workloads=None`` means no cluster was asked: one EnvoyFilter selecting the labels.
    """
    if spec.api is Api.WASMPLUGIN:
        return [render_wasmplugin(spec)]
    if workloads is None:
        return [render_envoyfilter(spec, None)]
    return [render_envoyfilter(spec, w) for w in workloads]
