"""Render a spec as one Istio WasmPlugin (``extensions.istio.io/v1alpha1``, Istio 1.12+).

Istio's agent fetches the module itself: ``oci://<image>`` pinned by the MANIFEST digest, or
``http://`` from the cache Service pinned by the module's own sha256 (Istio compares ``sha256``
with one or the other depending on the scheme). ``pluginConfig`` is a Struct, so only a mapping
configuration fits; :func:`wasmkit.deploy.spec.resolve_spec` refuses a plain string for it.
"""

from __future__ import annotations

from typing import Any

from wasmkit.deploy.spec import DeploymentSpec, ModuleSource
from wasmkit.filter import FailurePolicy

WASMPLUGIN_API = "extensions.istio.io/v1alpha1"

#: Envoy's failure policies as WasmPlugin spells them.
FAIL_STRATEGY = {
    FailurePolicy.FAIL_CLOSED: "FAIL_CLOSE",
    FailurePolicy.FAIL_OPEN: "FAIL_OPEN",
    FailurePolicy.FAIL_RELOAD: "FAIL_RELOAD",
}


def plugin_url(spec: DeploymentSpec) -> tuple[str, str]:
    """(url, sha256) for the plugin's module source."""
    if spec.source is ModuleSource.HTTP:
        sha = spec.image.module_sha256
        return spec.cache_service.url(sha), sha
    return "oci://" + spec.image.ref, spec.image.manifest_digest.removeprefix("sha256:")


def render_wasmplugin(spec: DeploymentSpec) -> dict[str, Any]:
    url, sha256 = plugin_url(spec)
    body: dict[str, Any] = {}
    if spec.labels:
        body["selector"] = {"matchLabels": dict(spec.labels)}
    body["url"] = url
    body["sha256"] = sha256
    body["pluginName"] = spec.root_id
    if spec.config.data is not None:
        body["pluginConfig"] = dict(spec.config.data)
    options = spec.plugin
    if options.phase is not None:
        body["phase"] = options.phase.value
    if options.priority is not None:
        body["priority"] = options.priority
    body["failStrategy"] = FAIL_STRATEGY[spec.failure_policy]
    if options.image_pull_policy is not None:
        body["imagePullPolicy"] = options.image_pull_policy.value
    if options.image_pull_secret:
        body["imagePullSecret"] = options.image_pull_secret
    if options.match:
        body["match"] = [dict(m) for m in options.match]
    return {
        "apiVersion": WASMPLUGIN_API,
        "kind": "WasmPlugin",
        "metadata": {"name": spec.id, "namespace": spec.namespace, "labels": spec.object_labels},
        "spec": body,
    }
