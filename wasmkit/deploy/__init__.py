"""Deploy a filter: one spec rendered to Istio EnvoyFilters, a WasmPlugin, or a local Envoy.

Public surface::

    DeployRequest(...)                 what the user asked for (flags or an operator resource)
    resolve_spec(request, image, istio_version) -> DeploymentSpec   checked once, here
    render_objects(spec, workloads)    the EnvoyFilters / WasmPlugin for those workloads
    render_envoyfilter / render_wasmplugin / patch_value            one renderer per format
    mounts.add_user / remove_user      the reference-counted node-cache mount annotations
    CacheService().url(sha256)         where --source http and the operator fetch a module

Against a cluster (these import the Kubernetes client, so they are not loaded here)::

    wasmkit.deploy.apply.deploy(kube, request, image, dry_run=) -> DeployResult
    wasmkit.deploy.apply.undeploy(kube, filter_id, namespace, dry_run=) -> DeployResult
        DeployResult.changes: Change(action created|changed|unchanged|deleted, kind, name, ns)
    wasmkit.deploy.istio.deploy_istio(request, store=, registry=, cluster=, dry_run=, output_dir=)
        the CLI's one call: image from the store (or pulled), cluster or offline, GitOps files
    wasmkit.deploy.envoy.prepare_local / run_envoy / envoy_config    ``wasmkit deploy envoy``
"""

from __future__ import annotations

from wasmkit.deploy.envoyfilter import patch_value, render_envoyfilter
from wasmkit.deploy.inputs import Config, parse_config, parse_labels
from wasmkit.deploy.render import render_objects
from wasmkit.deploy.spec import (
    Api,
    CacheService,
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
