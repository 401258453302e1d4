"""The operator's and the node cache's reads and writes, over :class:`wasmkit.kube.KubeClient`.

Status is written with server-side apply on the status subresource (field manager
``wasmkit-operator``): no read-modify-write, so a concurrent writer cannot make it fail with a
conflict, and two passes that compute the same status change nothing. The caches' Leases are
applied the same way, one per node, each by its own cache.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from wasmkit.deploy import DeployRequest, ImageInfo, Workload
from wasmkit.deploy.apply import cluster_istio_version, deploy, undeploy
from wasmkit.kube import KubeClient
from wasmkit.oci import Credential, RegistryOptions, from_auths, parse
from wasmkit.operator.install import CACHE_NAME, cache_lease_name
from wasmkit.operator.node_cache import Report, Want
from wasmkit.operator.observe import lease_body
from wasmkit.operator.spec import GROUP, KIND, VERSION, FilterDeploymentStatus

log = logging.getLogger(__name__)

OPERATOR_FIELD_MANAGER = "wasmkit-operator"
CACHE_FIELD_MANAGER = "wasmkit-cache"
API_VERSION = f"{GROUP}/{VERSION}"


def _secret_credential(secret: Mapping[str, Any] | None, registry: str) -> Credential | None:
    if not secret:
        return None
    raw = (secret.get("data") or {}).get(".dockerconfigjson", "")
    try:
        config = json.loads(base64.b64decode(raw))
    except (binascii.Error, ValueError):
        log.warning("pull Secret %s is not a dockerconfigjson", secret["metadata"]["name"])
        return None
    where = f"Secret {secret['metadata']['namespace']}/{secret['metadata']['name']}"
    return from_auths(config, registry, where)


class OperatorCluster:
    def __init__(self, kube: KubeClient, namespace: str):
        self.kube, self.namespace = kube, namespace

    def filter_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.kube.get(KIND, namespace, name)

    def filter_deployments(self, namespace: str | None = None) -> list[dict[str, Any]]:
        return self.kube.list(KIND, namespace)

    def workloads(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        return self.kube.list(kind, namespace)

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        return self.kube.list("Pod", namespace)

    def cache_leases(self) -> list[dict[str, Any]]:
        selector = f"app.kubernetes.io/name={CACHE_NAME}"
        return self.kube.list("Lease", self.namespace, label_selector=selector)

    def pull_credential(self, namespace: str, secret: str, registry: str) -> Credential | None:
        return _secret_credential(self.kube.get("Secret", namespace, secret), registry)

    def istio_version(self, namespace: str) -> str | None:
        return cluster_istio_version(self.kube, namespace)

    def write_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        body = {
            "apiVersion": API_VERSION,
            "kind": KIND,
            "metadata": {"name": name, "namespace": namespace},
            "status": status,
        }
        self.kube.apply_status(body, field_manager=OPERATOR_FIELD_MANAGER)


class KubeDeployer:
    """The operator's side of :mod:`wasmkit.deploy.apply`."""

    def __init__(self, kube: KubeClient):
        self.kube = kube

    def apply(
        self,
        request: DeployRequest,
        image: ImageInfo,
        targets: Sequence[Workload],
        keep: Sequence[Workload],
        owner: Mapping[str, Any],
        listed: Sequence[Workload],
        istiod: str,
    ) -> None:
        deploy(
            self.kube,
            request,
            image,
            targets=targets,
            keep=keep,
            owner=owner,
            workloads=listed,
            istiod=istiod or None,
        )

    def remove(self, filter_id: str, namespace: str) -> None:
        undeploy(self.kube, filter_id, namespace)


class CacheCluster:
    """What ``wasmkit cache serve`` reads (FilterDeployments, pull Secrets) and writes (its
    node's Lease)."""

    def __init__(self, kube: KubeClient, namespace: str):
        self.kube, self.namespace = kube, namespace

    def wanted(self) -> list[Want]:
        wants: dict[str, Want] = {}
        for fd in self.kube.list(KIND, None):
            for want in wants_of(fd):
                wants.setdefault(want.image, want)
        return list(wants.values())

    def credential(self, want: Want) -> Credential | None:
        if want.pull_secret is None:
            return None
        namespace, name = want.pull_secret
        secret = self.kube.get("Secret", namespace, name)
        return _secret_credential(secret, parse(want.image).registry)

    def report(self, node: str, report: Report) -> None:
        body = lease_body(node, report)
        body["metadata"].update(name=cache_lease_name(node), namespace=self.namespace)
        body.update(apiVersion="coordination.k8s.io/v1", kind="Lease")
        self.kube.apply(body, field_manager=CACHE_FIELD_MANAGER)


def wants_of(fd: Mapping[str, Any]) -> list[Want]:
    """The images a FilterDeployment's status asks caches to hold (the one it rolls out, and
    the one its workloads still run), with how to pull them."""
    status = fd.get("status") or {}
    try:
        parsed = FilterDeploymentStatus.model_validate(
            {k: status.get(k, "") for k in ("image", "appliedImage")}
        )
    except ValueError:
        return []
    pull = (fd.get("spec") or {}).get("filter", {}).get("imagePullOptions") or {}
    options = RegistryOptions(
        plain_http=bool(pull.get("plainHttp")), insecure=bool(pull.get("insecureSkipVerify"))
    )
    secret = pull.get("pullSecret")
    where = (fd["metadata"]["namespace"], str(secret)) if secret else None
    images = {parsed.image, parsed.applied_image} - {""}
    return [Want(image, options, where) for image in sorted(images) if "@sha256:" in image]
