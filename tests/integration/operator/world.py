"""A cluster for the operator tests: the real kube-apiserver (tests/kube_server.py) with
Nodes, workloads and their Pods as objects, a node cache process per node, and the operator
process - each running with exactly the RBAC ``wasmkit operator install`` grants them.

There are no kubelets: a "node" is a Node object plus a ``wasmkit cache serve --node NAME``
process with its own module directory, and a workload's Pods are objects with ``nodeName``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from tests.kube_server import KubeServer, free_port
from wasmkit._process import ManagedProcess
from wasmkit.operator.crd import crd
from wasmkit.operator.install import (
    CACHE_NAMESPACE_RULES,
    CACHE_RULES,
    OPERATOR_NAMESPACE_RULES,
    OPERATOR_RULES,
)

T = TypeVar("T")
FD_API = "/apis/wasme.io/v1"


def eventually(
    check: Callable[[], T | None],
    what: str,
    timeout: float = 30.0,
    logs: Callable[[], str] = lambda: "",
) -> T:
    """Poll ``check`` until it returns something truthy; fail with ``what`` and the logs."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except (KeyError, IndexError, TypeError, RuntimeError) as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not after {timeout}s (last: {last!r})\n{logs()}")


@dataclass
class World:
    kube: KubeServer
    directory: Path
    namespace: str  # the operator's: caches' Leases
    operator_kubeconfig: Path
    cache_kubeconfig: Path
    caches: dict[str, ManagedProcess] = field(default_factory=dict)
    cache_dirs: dict[str, Path] = field(default_factory=dict)
    cache_ports: dict[str, int] = field(default_factory=dict)
    operator: ManagedProcess | None = None

    # -- processes -----------------------------------------------------------------------------

    def start_cache(self, node: str) -> Path:
        self.kube.apply({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}})
        directory = self.cache_dirs.setdefault(node, self.directory / f"node-{node}")
        port = self.cache_ports.setdefault(node, free_port())
        self.caches[node] = self._start(
            f"cache-{node}",
            [
                sys.executable,
                "-m",
                "wasmkit",
                "-v",
                "cache",
                "serve",
                "--node",
                node,
                "--dir",
                str(directory / "modules"),
                "--state-dir",
                str(directory / "state"),
                "--listen",
                f"127.0.0.1:{port}",
                "--namespace",
                self.namespace,
                "--interval",
                "0.2",
                "--kubeconfig",
                str(self.cache_kubeconfig),
            ],
            self.directory,
        )
        return directory / "modules"

    def _start(self, name: str, command: list[str], directory: Path) -> ManagedProcess:
        process = ManagedProcess(name, command, directory)
        process.start()
        return process

    def stop_cache(self, node: str) -> None:
        self.caches.pop(node).stop()

    def start_operator(self, resync: float = 3.0) -> None:
        self.operator = self._start(
            "operator",
            [
                sys.executable,
                "-m",
                "wasmkit",
                "-v",
                "operator",
                "run",
                "--kubeconfig",
                str(self.operator_kubeconfig),
                "--namespace",
                self.namespace,
                "--istio-version",
                "1.29",
                "--resync",
                str(resync),
            ],
            self.directory,
        )

    def stop_operator(self, kill: bool = False) -> None:
        if self.operator is None:
            return
        if kill and self.operator.pid is not None:
            os.kill(self.operator.pid, signal.SIGKILL)
        self.operator.stop()
        self.operator = None

    def logs(self) -> str:
        parts = []
        for name in ["operator", *(f"cache-{n}" for n in self.caches)]:
            path = self.directory / f"{name}.log"
            if path.exists():
                tail = "\n".join(path.read_text(errors="replace").splitlines()[-25:])
                parts.append(f"--- {name} ---\n{tail}")
        return "\n".join(parts)

    def eventually(self, check: Callable[[], T | None], what: str, timeout: float = 30.0) -> T:
        return eventually(check, what, timeout, self.logs)

    # -- objects -------------------------------------------------------------------------------

    def namespace_for_test(self) -> str:
        ns = self.kube.create_namespace()
        self.kube.apply(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": ns},
            }
        )
        return ns

    def workload(
        self,
        ns: str,
        name: str,
        labels: dict[str, str],
        nodes: list[str],
        kind: str = "Deployment",
        annotations: dict[str, str] | None = None,
        *,
        tagged: bool = True,
    ) -> dict[str, Any]:
        """The workload and one Pod per node. ``tagged``: its Pods also carry a label of their
        own (``wasmkit-test/workload``), its selector; else ``labels`` are all they carry."""
        pod_labels = {**labels, "wasmkit-test/workload": name} if tagged else dict(labels)
        template: dict[str, Any] = {"labels": labels}
        if annotations:
            template["annotations"] = annotations
        obj: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "selector": {
                    "matchLabels": {"wasmkit-test/workload": name} if tagged else dict(labels)
                },
                "template": {
                    "metadata": {**template, "labels": pod_labels},
                    "spec": {"containers": [{"name": "app", "image": "example.invalid/app:1"}]},
                },
            },
        }
        if kind == "StatefulSet":
            obj["spec"]["serviceName"] = name
        self.kube.apply(obj)
        for i, node in enumerate(nodes):
            self.kube.apply(
                {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "metadata": {
                        "name": f"{name}-{i}",
                        "namespace": ns,
                        "labels": pod_labels,
                    },
                    "spec": {
                        "nodeName": node,
                        "automountServiceAccountToken": False,
                        "containers": [{"name": "app", "image": "example.invalid/app:1"}],
                    },
                }
            )
        return obj

    def get_workload(self, ns: str, name: str, kind: str = "deployments") -> dict[str, Any]:
        return cast("dict[str, Any]", self.kube.get(f"/apis/apps/v1/namespaces/{ns}/{kind}/{name}"))

    def filter_deployment(self, ns: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        obj = {
            "apiVersion": "wasme.io/v1",
            "kind": "FilterDeployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": spec,
        }
        self.kube.apply(obj)
        return obj

    def fd(self, ns: str, name: str) -> dict[str, Any]:
        return cast(
            "dict[str, Any]", self.kube.get(f"{FD_API}/namespaces/{ns}/filterdeployments/{name}")
        )

    def envoyfilters(self, ns: str) -> list[dict[str, Any]]:
        path = f"/apis/networking.istio.io/v1alpha3/namespaces/{ns}/envoyfilters"
        return cast("list[dict[str, Any]]", self.kube.get(path)["items"])

    def wasmplugins(self, ns: str) -> list[dict[str, Any]]:
        path = f"/apis/extensions.istio.io/v1alpha1/namespaces/{ns}/wasmplugins"
        return cast("list[dict[str, Any]]", self.kube.get(path)["items"])

    def gone(self, ns: str, name: str) -> bool:
        return self.kube.status(f"{FD_API}/namespaces/{ns}/filterdeployments/{name}") == 404

    def ready(self, ns: str, name: str, digest: str | None = None) -> dict[str, Any] | None:
        """The resource once its Ready condition is True (for ``digest``, if given)."""
        fd = self.fd(ns, name)
        status = fd.get("status") or {}
        ok = any(
            c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", [])
        )
        if ok and (digest is None or status.get("digest") == digest):
            return fd
        return None


def _bind(kube: KubeServer, user: str, namespace: str, rules: list[Any]) -> None:
    meta = {"name": f"{user}-ns", "namespace": namespace}
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": rules,
        }
    )
    kube.apply(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": meta["name"],
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
    )


@contextmanager
def make_world(kube: KubeServer, directory: Path) -> Iterator[World]:
    """Our CRD installed, an operator namespace, and kubeconfigs with the install's RBAC."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "crd.yaml"
    import yaml

    path.write_text(yaml.safe_dump(crd()))
    kube.install_crds(path)
    namespace = kube.create_namespace(f"wasmkit-{uuid.uuid4().hex[:6]}")
    operator_user, cache_user = f"op-{namespace}", f"cache-{namespace}"
    operator_kubeconfig = kube.kubeconfig_for(operator_user, OPERATOR_RULES)
    _bind(kube, operator_user, namespace, OPERATOR_NAMESPACE_RULES)
    cache_kubeconfig = kube.kubeconfig_for(cache_user, CACHE_RULES)
    _bind(kube, cache_user, namespace, CACHE_NAMESPACE_RULES)
    world = World(kube, directory, namespace, operator_kubeconfig, cache_kubeconfig)
    try:
        yield world
    finally:
        world.stop_operator()
        for node in list(world.caches):
            world.stop_cache(node)
