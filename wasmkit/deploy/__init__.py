"""Deploy a filter: one spec rendered to Istio EnvoyFilters, a WasmPlugin, or a local Envoy.

Public surface::

    DeployRequest(...)                 what the user asked for (flags or an operator resource)
    resolve_spec(request, image, istio_version) -> DeploymentSpec   checked once, here
    render_objects(spec, workloads)    the EnvoyFilters / WasmPlugin for those workloads
    render_envoyfilter / render_wasmplugin / patch_value            one renderer per format
    mounts.add_user / remove_user      the reference-counted node-cache mount annotations
"""

from __future__ import annotations

from wasmkit.deploy.envoyfilter import patch_value, render_envoyfilter
from wasmkit.deploy.render import render_objects
from wasmkit.deploy.spec import (
    Api,
    CacheService,
    Config,
    DeploymentSpec,
    DeployRequest,
    ImageInfo,
    ModuleSource,
    PatchContext,
    Phase,
    PullPolicy,
    WasmPluginOptions,
    Workload,
    WorkloadKind,
    parse_config,
    parse_labels,
    resolve_spec,
)
from wasmkit.deploy.wasmplugin import render_wasmplugin

__all__ = [
    "Api",
    "CacheService",
    "Config",
    "DeployRequest",
    "DeploymentSpec",
    "ImageInfo",
    "ModuleSource",
    "PatchContext",
    "Phase",
    "PullPolicy",
    "WasmPluginOptions",
    "Workload",
    "WorkloadKind",
    "parse_config",
    "parse_labels",
    "patch_value",
    "render_envoyfilter",
    "render_objects",
    "render_wasmplugin",
    "resolve_spec",
]
