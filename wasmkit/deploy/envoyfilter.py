"""Render a spec as Istio EnvoyFilters: one per workload, in the form its Istio release speaks.

The Wasm filter value is always :func:`wasmkit.filter.envoy_wasm_filter`'s; only its wrapping
changes with the release (``wasmkit.abi.EnvoyFilterForm``):

- 1.5/1.6: the untyped ``config:`` struct of the envoy-wasm fork, camelCase as its JSON
  marshaller wrote it, the configuration a plain string, the old listener filter names;
- 1.7/1.8: ``typed_config`` holding a ``udpa.type.v1.TypedStruct`` of the v3 Wasm message;
- 1.9-1.18: ``typed_config`` with the v3 type URL, ``fail_open``;
- 1.19+: the same with ``failure_policy``; the new filter names are mandatory.

``--source http`` adds a CLUSTER patch that defines the cluster the remote code is fetched from.
"""

from __future__ import annotations

from typing import Any

from wasmkit.abi import EnvoyFilterForm
from wasmkit.deploy.spec import (
    CACHE_DIR,
    WORKLOAD_ANNOTATION,
    DeploymentSpec,
    ModuleSource,
    Workload,
)
from wasmkit.filter import FilterSpec, LocalCode, RemoteCode, envoy_wasm_filter

ENVOYFILTER_API = "networking.istio.io/v1alpha3"
TYPED_STRUCT_URL = "type.googleapis.com/udpa.type.v1.TypedStruct"


def _form(spec: DeploymentSpec) -> EnvoyFilterForm:
    form = spec.platform.envoy_filter
    assert form is not None, "an Istio platform row always has an EnvoyFilter form"
    return form


def filter_spec(spec: DeploymentSpec) -> FilterSpec:
    """The proxy-side filter the spec asks for (what every renderer passes to the proxy)."""
    sha = spec.image.module_sha256
    code: LocalCode | RemoteCode
    if spec.source is ModuleSource.HTTP:
        code = RemoteCode(
            uri=spec.cache_service.url(sha), cluster=spec.cache_service.cluster(spec.id), sha256=sha
        )
    else:
        code = LocalCode(f"{CACHE_DIR}/{sha}")
    form = spec.platform.envoy_filter
    return FilterSpec(
        name=spec.id,
        root_id=spec.root_id,
        code=code,
        configuration=spec.config.for_filter,
        failure_policy=spec.failure_policy,
        vm_id=spec.id,
        legacy_fail_open=form is not None and not form.failure_policy_field,
    )


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {_camel_key(k): _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _camel_key(key: str) -> str:
    if key.startswith("@"):
        return key
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def patch_value(spec: DeploymentSpec) -> dict[str, Any]:
    """The HTTP filter the patch inserts, wrapped as the release expects."""
    rendered = envoy_wasm_filter(filter_spec(spec))
    typed = rendered["typed_config"]
    form = _form(spec)
    if not form.typed:
        config = dict(typed["config"])
        if "configuration" in config:  # the fork's PluginConfig took a plain string
            config["configuration"] = config["configuration"]["value"]
        return {"name": rendered["name"], "config": {"config": _camel(config)}}
    if form.typed_struct:
        value = {k: v for k, v in typed.items() if k != "@type"}
        return {
            "name": rendered["name"],
            "typed_config": {"@type": TYPED_STRUCT_URL, "type_url": typed["@type"], "value": value},
        }
    return rendered


def cluster_patch(spec: DeploymentSpec) -> dict[str, Any]:
    """A CLUSTER patch that ADDs the cache Service's cluster for the remote code fetch."""
    service = spec.cache_service
    name = service.cluster(spec.id)
    endpoint = {
        "address": {"socket_address": {"address": service.host, "port_value": service.port}}
    }
    return {
        "applyTo": "CLUSTER",
        "match": {"context": "ANY"},
        "patch": {
            "operation": "ADD",
            "value": {
                "name": name,
                "type": "STRICT_DNS",
                "connect_timeout": "5s",
                "lb_policy": "ROUND_ROBIN",
                "load_assignment": {
                    "cluster_name": name,
                    "endpoints": [{"lb_endpoints": [{"endpoint": endpoint}]}],
                },
            },
        },
    }


def envoyfilter_name(workload: Workload | None, filter_id: str) -> str:
    return f"{workload.name}-{filter_id}" if workload is not None else filter_id


def render_envoyfilter(spec: DeploymentSpec, workload: Workload | None) -> dict[str, Any]:
    """The EnvoyFilter ``<workload>-<id>`` selecting ``workload``'s pods.

    Without a workload (rendering with no cluster to list them), one EnvoyFilter ``<id>``
    selects the spec's labels directly.
    """
    hcm, router = _form(spec).listener_filter_names
    http_filter_patch = {
        "applyTo": "HTTP_FILTER",
        "match": {
            "context": spec.patch_context.value,
            "listener": {"filterChain": {"filter": {"name": hcm, "subFilter": {"name": router}}}},
        },
        "patch": {"operation": "INSERT_BEFORE", "value": patch_value(spec)},
    }
    patches = [http_filter_patch]
    if spec.source is ModuleSource.HTTP:
        patches.insert(0, cluster_patch(spec))
    metadata: dict[str, Any] = {
        "name": envoyfilter_name(workload, spec.id),
        "namespace": spec.namespace,
        "labels": spec.object_labels,
    }
    body: dict[str, Any] = {}
    if workload is not None:
        metadata["annotations"] = {WORKLOAD_ANNOTATION: workload.ref}
        body["workloadSelector"] = {"labels": dict(workload.pod_labels)}
    elif spec.labels:
        body["workloadSelector"] = {"labels": dict(spec.labels)}
    body["configPatches"] = patches
    return {
        "apiVersion": ENVOYFILTER_API,
        "kind": "EnvoyFilter",
        "metadata": metadata,
        "spec": body,
    }
