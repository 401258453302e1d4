"""The Kubernetes API, as wasmkit uses it: list, get, server-side apply, delete.

The ``kubernetes`` package is imported here and nowhere else (import-linter checks): it loads
kubeconfigs (client certificates, tokens, exec plugins) or the in-cluster service account, and
carries the TLS connection pool. Requests are plain REST on paths from :data:`RESOURCES`, JSON
in and out, so every call is one request and :attr:`KubeClient.requests` counts them.

Errors come back as wasmkit's: no cluster or no kubeconfig -> ``ServiceUnavailable`` (exit 3),
403 -> ``KubeForbidden`` naming verb, resource and namespace, a resource type the server does
not serve -> ``KubeApiMissing``, a write whose ``resourceVersion`` precondition failed (409) ->
``KubeConflict``, a refused object -> ``UsageError`` quoting the API server.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from wasmkit.errors import (
    KubeApiMissing,
    KubeConflict,
    KubeForbidden,
    ServiceUnavailable,
    UsageError,
)

log = logging.getLogger(__name__)

KubeObject = dict[str, Any]
TIMEOUT_S = 15.0


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str  # "v1" or "group/version"
    plural: str
    namespaced: bool = True
    #: Installed by a CRD (a 404 on the collection means "not installed", not "not found").
    crd: str | None = None

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return base + (f"/{name}" if name else "")


RESOURCES: dict[str, Resource] = {
    r.kind: r
    for r in (
        Resource("Namespace", "v1", "namespaces", namespaced=False),
        Resource("Deployment", "apps/v1", "deployments"),
        Resource("DaemonSet", "apps/v1", "daemonsets"),
        Resource("StatefulSet", "apps/v1", "statefulsets"),
        Resource(
            "EnvoyFilter",
            "networking.istio.io/v1alpha3",
            "envoyfilters",
            crd="envoyfilters.networking.istio.io",
        ),
        Resource(
            "WasmPlugin",
            "extensions.istio.io/v1alpha1",
            "wasmplugins",
            crd="wasmplugins.extensions.istio.io",
        ),
        # the FilterDeployment operator and its node cache (wasmkit.operator)
        Resource(
            "FilterDeployment",
            "wasme.io/v1",
            "filterdeployments",
            crd="filterdeployments.wasme.io",
        ),
        Resource("Pod", "v1", "pods"),
        Resource("Secret", "v1", "secrets"),
        Resource("Service", "v1", "services"),
        Resource("ServiceAccount", "v1", "serviceaccounts"),
        Resource("Lease", "coordination.k8s.io/v1", "leases"),
        Resource("Role", "rbac.authorization.k8s.io/v1", "roles"),
        Resource("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings"),
        Resource("ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", namespaced=False),
        Resource(
            "ClusterRoleBinding",
            "rbac.authorization.k8s.io/v1",
            "clusterrolebindings",
            namespaced=False,
        ),
        Resource(
            "CustomResourceDefinition",
            "apiextensions.k8s.io/v1",
            "customresourcedefinitions",
            namespaced=False,
        ),
    )
}


@dataclass(frozen=True)
class Connection:
    """How to reach the cluster, for a second client of the same cluster (kopf's)."""

    server: str
    verify: bool
    ca_file: str | None
    cert_file: str | None
    key_file: str | None
    token: str | None


def resource(kind: str) -> Resource:
    try:
        return RESOURCES[kind]
    except KeyError:
        raise UsageError(f"wasmkit does not manage {kind} objects") from None


class KubeClient:
    """One cluster connection; see the module docstring."""

    def __init__(self, api: k8s_client.ApiClient, *, default_namespace: str | None = None):
        self._api = api
        self.host = str(api.configuration.host)
        self.default_namespace = default_namespace
        #: API requests made so far (the deploy benchmark reports them per workload).
        self.requests = 0

    @classmethod
    def connect(cls, kubeconfig: Path | None = None, context: str | None = None) -> KubeClient:
        """The cluster of ``kubeconfig`` (default: $KUBECONFIG, ~/.kube/config) or, with no
        kubeconfig at all, of the service account wasmkit runs as inside a pod."""
        configuration = k8s_client.Configuration()
        namespace: str | None = None
        try:
            path = kubeconfig or _default_kubeconfig()
            if path is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
                k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            else:
                if path is None:
                    raise ConfigException("no kubeconfig found ($KUBECONFIG, ~/.kube/config)")
                k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=str(path), context=context, client_configuration=configuration
                )
                namespace = _context_namespace(path, context)
        except (ConfigException, OSError, ValueError, TypeError) as exc:
            raise ServiceUnavailable(
                f"no Kubernetes cluster configured: {exc}",
                hint="pass --kubeconfig FILE (and --context NAME), set KUBECONFIG, or use "
                "--dry-run -o yaml with --istio-version to render without a cluster",
            ) from None
        configuration.retries = 1
        return cls(k8s_client.ApiClient(configuration), default_namespace=namespace)

    def close(self) -> None:
        self._api.close()  # type: ignore[no-untyped-call]

    def connection(self) -> Connection:
        c = self._api.configuration
        auth = (c.api_key or {}).get("authorization") or (c.api_key or {}).get("BearerToken")
        token = str(auth).removeprefix("Bearer ").strip() if auth else None
        return Connection(
            server=self.host,
            verify=bool(c.verify_ssl),
            ca_file=c.ssl_ca_cert,
            cert_file=c.cert_file,
            key_file=c.key_file,
            token=token,
        )

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- one request -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        query: Mapping[str, str] | None = None,
        what: tuple[str, str, str | None] | None = None,
    ) -> KubeObject | None:
        """``method path``; the decoded JSON, or None for 404. ``what`` = (verb, resource,
        namespace) for error messages."""
        url_path = path + ("?" + urlencode(dict(query)) if query else "")
        headers = {"Accept": "application/json", "Content-Type": content_type}
        _, url, headers, data, _ = self._api.param_serialize(
            method, url_path, header_params=headers, body=body, auth_settings=["BearerToken"]
        )
        self.requests += 1
        try:
            response = self._api.call_api(method, url, headers, data, _request_timeout=TIMEOUT_S)
            raw = response.read()  # type: ignore[no-untyped-call]
        except Exception as exc:  # urllib3's and the client's own errors: no answer
            raise ServiceUnavailable(
                f"the Kubernetes API server at {self.host} does not answer: "
                f"{type(exc).__name__}: {str(exc)[:300]}",
                hint="check that the cluster runs and that --kubeconfig/--context point at it",
            ) from None
        status = int(response.status)
        try:
            decoded: Any = json.loads(raw) if raw else None
        except ValueError:  # an unserved path answers "404 page not found" as plain text
            decoded = None
        if 200 <= status < 300:
            return cast("KubeObject | None", decoded)
        message = (
            decoded.get("message", "")
            if isinstance(decoded, dict)
            else raw[:300].decode(errors="replace")
        )
        verb, res, namespace = what or (method.lower(), path, None)
        if status == 404:
            return None
        if status == 403:
            raise KubeForbidden(verb, res, namespace, user_message=message)
        if status == 401:
            raise ServiceUnavailable(
                f"the Kubernetes API server at {self.host} did not accept our credentials",
                hint="refresh the credentials in your kubeconfig",
                details=message,
            )
        if status == 409:
            raise KubeConflict(
                f"{verb} {res} in namespace {namespace}: the object changed meanwhile: {message}",
                hint="something else keeps writing it; retry when it has settled",
            )
        if status in (400, 422):
            raise UsageError(
                f"the Kubernetes API server refused to {verb} {res}: {message}",
                hint="this is a wasmkit bug if the input was valid; -v shows the request",
            )
        raise ServiceUnavailable(
            f"the Kubernetes API server answered {status} to {verb} {res}: {message}",
            hint="retry; if it persists, check the API server's health",
        )

    # --- verbs -------------------------------------------------------------------------------

    def list(
        self, kind: str, namespace: str | None, *, label_selector: str | None = None
    ) -> list[KubeObject]:
        res = resource(kind)
        query = {"labelSelector": label_selector} if label_selector else None
        data = self.request(
            "GET", res.path(namespace), query=query, what=("list", res.plural, namespace)
        )
        if data is None:
            if res.crd:
                raise KubeApiMissing(
                    f"the cluster does not serve {res.plural} ({res.api_version}): "
                    f"Istio's CRD {res.crd} is not installed",
                    hint="install Istio (or just its CRDs: istioctl install, or the base chart) "
                    "in this cluster first",
                )
            raise KubeApiMissing(f"the cluster does not serve {res.plural} ({res.api_version})")
        items = data.get("items", [])
        for item in items:  # a list's items carry no kind/apiVersion
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", res.kind)
        return cast("list[KubeObject]", items)

    def serves(self, kind: str) -> bool:
        """Whether the cluster serves ``kind`` at all (one discovery request)."""
        res = resource(kind)
        data = self.request("GET", res.path().rsplit("/", 1)[0], what=("get", "discovery", None))
        return data is not None and any(r.get("name") == res.plural for r in data["resources"])

    def get(self, kind: str, namespace: str | None, name: str) -> KubeObject | None:
        res = resource(kind)
        return self.request("GET", res.path(namespace, name), what=("get", res.plural, namespace))

    def apply(
        self, obj: Mapping[str, Any], *, field_manager: str, dry_run: bool = False
    ) -> KubeObject:
        """Server-side apply ``obj`` (force: wasmkit's fields are wasmkit's). With
        ``metadata.resourceVersion`` in ``obj`` the API server applies it only to that version
        (else 409: :class:`KubeConflict`), for values computed from what was read."""
        res = resource(str(obj["kind"]))
        meta = obj["metadata"]
        query = {"fieldManager": field_manager, "force": "true", "fieldValidation": "Strict"}
        if dry_run:
            query["dryRun"] = "All"
        data = self.request(
            "PATCH",
            res.path(meta.get("namespace"), meta["name"]),
            body=dict(obj),
            content_type="application/apply-patch+yaml",
            query=query,
            what=("patch", res.plural, meta.get("namespace")),
        )
        if data is None:  # the namespace, or the resource type, does not exist
            raise KubeApiMissing(
                f"cannot apply {res.kind} {meta['name']}: the API server answered 404 "
                f"(does namespace {meta.get('namespace')} exist? is {res.plural} served?)",
                hint="create the namespace, or install the CRDs the object needs",
            )
        return data

    def apply_status(self, obj: Mapping[str, Any], *, field_manager: str) -> KubeObject:
        """Server-side apply ``obj``'s ``status`` on the status subresource."""
        res = resource(str(obj["kind"]))
        meta = obj["metadata"]
        data = self.request(
            "PATCH",
            res.path(meta.get("namespace"), meta["name"]) + "/status",
            body=dict(obj),
            content_type="application/apply-patch+yaml",
            query={"fieldManager": field_manager, "force": "true"},
            what=("patch", f"{res.plural}/status", meta.get("namespace")),
        )
        if data is None:
            raise KubeApiMissing(f"{res.kind} {meta.get('namespace')}/{meta['name']} is gone")
        return data

    def delete(self, kind: str, namespace: str | None, name: str, *, dry_run: bool = False) -> bool:
        """Delete; False when it was already gone."""
        res = resource(kind)
        query = {"dryRun": "All"} if dry_run else None
        data = self.request(
            "DELETE",
            res.path(namespace, name),
            query=query,
            what=("delete", res.plural, namespace),
        )
        return data is not None


def _default_kubeconfig() -> Path | None:
    env = os.environ.get("KUBECONFIG", "")
    for item in env.split(os.pathsep):
        if item and Path(item).expanduser().is_file():
            return Path(item).expanduser()
    home = Path.home() / ".kube" / "config"
    return home if home.is_file() else None


def _context_namespace(path: Path, context: str | None) -> str | None:
    contexts, active = k8s_config.list_kube_config_contexts(config_file=str(path))  # type: ignore[no-untyped-call]
    chosen = next((c for c in contexts if c["name"] == context), None) if context else active
    if not chosen:
        return None
    namespace = chosen.get("context", {}).get("namespace")
    return str(namespace) if namespace else None
