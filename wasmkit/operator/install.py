"""What ``wasmkit operator install`` writes: the CRD, least-privilege RBAC, the operator
Deployment, the node cache DaemonSet and its Service.

RBAC lists every verb on every resource by name (no wildcards). The operator may read pull
Secrets (``get`` only, no list/watch) to resolve private images, and so may the cache, which
pulls them on each node. The cache's Service has ``internalTrafficPolicy: Local``: a sidecar
fetching ``/<sha256>`` (delivery ``http``/``wasmplugin``) is answered by its own node's cache,
the one the operator checked before writing the Istio objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmkit.deploy import CacheService
from wasmkit.deploy.spec import CACHE_DIR
from wasmkit.operator.crd import crd
from wasmkit.operator.spec import GROUP, PLURAL

OPERATOR_NAME = "wasmkit-operator"
INSTALL_FIELD_MANAGER = "wasmkit-install"
CACHE_NAME = CacheService().name
DEFAULT_NAMESPACE = CacheService().namespace
DEFAULT_IMAGE = "ghcr.io/wasmkit/wasmkit:0.1.0"
DEFAULT_CACHE_PORT = CacheService().port
#: Where the node cache keeps modules on each node (hostPath), named by the module's sha256.
NODE_CACHE_DIR = CACHE_DIR
#: Where the cache keeps its image store (blobs, records), outside the directory pods mount.
NODE_STATE_DIR = "/var/lib/wasmkit-cache"
#: The operator's own image store (it reads each image once to learn its module and root ids).
OPERATOR_HOME = "/var/lib/wasmkit"


@dataclass(frozen=True)
class InstallOptions:
    namespace: str = DEFAULT_NAMESPACE
    operator_image: str = DEFAULT_IMAGE
    cache_image: str = DEFAULT_IMAGE
    cache_port: int = DEFAULT_CACHE_PORT


def cache_lease_name(node: str) -> str:
    """The Lease through which the cache on ``node`` reports what it holds."""
    return f"{CACHE_NAME}-{node}"[:253]


def cache_service_url(namespace: str, port: int, sha256: str) -> str:
    return f"http://{CACHE_NAME}.{namespace}.svc.cluster.local:{port}/{sha256}"


def _rule(groups: list[str], resources: list[str], verbs: list[str]) -> dict[str, Any]:
    return {"apiGroups": groups, "resources": resources, "verbs": verbs}


READ = ["get", "list", "watch"]
WRITE = ["get", "list", "watch", "create", "patch", "update", "delete"]

OPERATOR_RULES = [
    _rule([GROUP], [PLURAL], [*READ, "patch", "update"]),
    _rule([GROUP], [f"{PLURAL}/status"], ["get", "patch", "update"]),
    _rule(["networking.istio.io"], ["envoyfilters"], WRITE),
    _rule(["extensions.istio.io"], ["wasmplugins"], WRITE),
    _rule(["apps"], ["deployments", "daemonsets", "statefulsets"], [*READ, "patch"]),
    _rule([""], ["pods"], ["list", "watch"]),
    _rule([""], ["secrets"], ["get"]),
    _rule([""], ["events"], ["create"]),  # kopf's warnings; readiness never reads Events
]
OPERATOR_NAMESPACE_RULES = [_rule(["coordination.k8s.io"], ["leases"], READ)]
CACHE_RULES = [
    _rule([GROUP], [PLURAL], READ),
    _rule([""], ["secrets"], ["get"]),
]
CACHE_NAMESPACE_RULES = [
    _rule(["coordination.k8s.io"], ["leases"], ["get", "create", "update", "patch"]),
]


def _rbac(name: str, namespace: str, rules: list[Any], ns_rules: list[Any]) -> list[Any]:
    subject = [{"kind": "ServiceAccount", "name": name, "namespace": namespace}]
    meta = {"name": name, "namespace": namespace}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": name},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": subject,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": ns_rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": subject,
        },
    ]


def _container(name: str, image: str, args: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "args": args,
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        **extra,
    }


def _operator_deployment(o: InstallOptions) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": OPERATOR_NAME}
    args = ["operator", "run", "--in-cluster", "--namespace", o.namespace]
    args += ["--cache-port", str(o.cache_port)]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": OPERATOR_NAME, "namespace": o.namespace, "labels": labels},
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": OPERATOR_NAME,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532},
                    "containers": [
                        _container(
                            "operator",
                            o.operator_image,
                            args,
                            env=[{"name": "WASMKIT_HOME", "value": OPERATOR_HOME}],
                            volumeMounts=[{"name": "home", "mountPath": OPERATOR_HOME}],
                        )
                    ],
                    "volumes": [{"name": "home", "emptyDir": {}}],
                },
            },
        },
    }


def _cache_daemonset(o: InstallOptions) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": CACHE_NAME}
    args = ["cache", "serve", "--in-cluster", "--node", "$(NODE_NAME)"]
    args += ["--namespace", o.namespace, "--listen", f"0.0.0.0:{o.cache_port}"]
    args += ["--dir", NODE_CACHE_DIR, "--state-dir", NODE_STATE_DIR]
    node_name = {"valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
    container = _container(
        "cache",
        o.cache_image,
        args,
        env=[{"name": "NODE_NAME", **node_name}],
        ports=[{"name": "http", "containerPort": o.cache_port}],
        readinessProbe={"httpGet": {"path": "/healthz", "port": "http"}},
        volumeMounts=[
            {"name": "modules", "mountPath": NODE_CACHE_DIR},
            {"name": "state", "mountPath": NODE_STATE_DIR},
        ],
    )
    host = [
        {"name": "modules", "hostPath": {"path": NODE_CACHE_DIR, "type": "DirectoryOrCreate"}},
        {"name": "state", "hostPath": {"path": NODE_STATE_DIR, "type": "DirectoryOrCreate"}},
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": CACHE_NAME, "namespace": o.namespace, "labels": labels},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": CACHE_NAME,
                    "containers": [container],
                    "volumes": host,
                },
            },
        },
    }


def _cache_service(o: InstallOptions) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": CACHE_NAME}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": CACHE_NAME, "namespace": o.namespace, "labels": labels},
        "spec": {
            "selector": labels,
            "internalTrafficPolicy": "Local",
            "ports": [{"name": "http", "port": o.cache_port, "targetPort": "http"}],
        },
    }


def manifests(options: InstallOptions) -> list[dict[str, Any]]:
    """Every object of an install, in the order they can be applied."""
    ns = options.namespace
    return [
        crd(),
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        *_rbac(OPERATOR_NAME, ns, OPERATOR_RULES, OPERATOR_NAMESPACE_RULES),
        *_rbac(CACHE_NAME, ns, CACHE_RULES, CACHE_NAMESPACE_RULES),
        _operator_deployment(options),
        _cache_daemonset(options),
        _cache_service(options),
    ]


def install(
    options: InstallOptions, *, dry_run: bool, kubeconfig: str | None = None
) -> list[dict[str, Any]]:
    """The install's objects; applied to the cluster unless ``dry_run``."""
    objects = manifests(options)
    if dry_run:
        return objects
    from wasmkit.kube import KubeClient

    with KubeClient.connect(Path(kubeconfig) if kubeconfig else None) as kube:
        for obj in objects:  # CRD and Namespace first: what follows needs them
            kube.apply(obj, field_manager=INSTALL_FIELD_MANAGER)
    return objects
