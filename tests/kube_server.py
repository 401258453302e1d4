"""A real Kubernetes API server for the tests: etcd + kube-apiserver on loopback, owned end to end.

:func:`run_kube_server` makes its own CA, serving certificate, admin client certificate
(``O=system:masters``) and service-account key pair with ``openssl``, starts etcd and
kube-apiserver (RBAC on, strict by default) on free loopback ports, waits for ``/readyz`` under a
deadline, writes an admin kubeconfig, optionally installs Istio's CRDs, and on the way out stops
both processes (TERM, then KILL), keeping their logs in the run directory for failure reports.

The apiserver runs no controllers: no garbage collection, no Pods for Deployments. Assert on the
objects. :meth:`KubeServer.kubeconfig_for` makes a least-privilege user (its own client
certificate, a Role or ClusterRole with exactly the given rules) to test "forbidden by RBAC".

Certificates and kubeconfigs: ``tests/kube_pki.py``. The binaries come from
``$WASMKIT_KUBE_BIN`` or ``~/.cache/wasmkit-ci/kube/current`` (``.ci/setup.d/50-kube.sh``);
Istio's CRDs from ``$WASMKIT_ISTIO_CRDS`` or
``~/.cache/wasmkit-ci/istio/<version>/crd-all.gen.yaml`` (``.ci/setup.d/55-istio.sh``).
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from tests.kube_pki import Pki, make_pki, write_kubeconfig
from wasmkit._process import ManagedProcess
from wasmkit.deploy import ImageInfo

ISTIO_VERSION = os.environ.get("WASMKIT_ISTIO_VERSION", "1.29.1")
CI_CACHE = Path(os.environ.get("WASMKIT_CI_CACHE", Path.home() / ".cache" / "wasmkit-ci"))
TEST_FIELD_MANAGER = "wasmkit-tests"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
#: A filter image's facts, for deploys that only talk to the apiserver (no registry, no Envoy).
FILTER_IMAGE = ImageInfo(
    ref="registry.example/filters/add-header:v1",
    manifest_digest="sha256:" + "ab" * 32,
    module_sha256="cd" * 32,
    root_ids=("add_header",),
    abi_versions=("0.2.1",),
)


class KubeBinariesMissing(RuntimeError):
    """etcd, kube-apiserver or Istio's CRDs are not built (run .ci/setup)."""


def kube_binaries() -> Path:
    """The directory holding ``etcd`` and ``kube-apiserver``; raises if they are missing."""
    directory = Path(os.environ.get("WASMKIT_KUBE_BIN") or CI_CACHE / "kube" / "current")
    missing = [n for n in ("etcd", "kube-apiserver") if not os.access(directory / n, os.X_OK)]
    if missing:
        raise KubeBinariesMissing(
            f"{', '.join(missing)} not found in {directory}: run `bash .ci/setup kube` "
            "(or point WASMKIT_KUBE_BIN at a directory holding etcd and kube-apiserver)"
        )
    return directory


def istio_crds(version: str = ISTIO_VERSION) -> Path:
    """Istio's ``crd-all.gen.yaml`` for ``version``; raises if it is missing."""
    path = Path(
        os.environ.get("WASMKIT_ISTIO_CRDS") or CI_CACHE / "istio" / version / "crd-all.gen.yaml"
    )
    if not path.is_file():
        raise KubeBinariesMissing(
            f"Istio's CRDs not found at {path}: run `bash .ci/setup istio` "
            "(or point WASMKIT_ISTIO_CRDS at a crd-all.gen.yaml)"
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class KubeServer:
    """A running apiserver: its URL, admin kubeconfig, and a small admin REST client."""

    directory: Path
    url: str
    pki: Pki
    kubeconfig: Path
    _session: requests.Session = field(default_factory=requests.Session, repr=False)
    #: The kube-apiserver process (set by run_kube_server), for outage tests.
    process: ManagedProcess | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._session.cert = (str(self.pki["admin.crt"]), str(self.pki["admin.key"]))
        self._session.headers["Accept"] = "application/json"

    def restart(self, down_s: float = 1.0, timeout_s: float = 90.0) -> None:
        """Stop kube-apiserver, leave it down ``down_s``, start it again on the same port and
        etcd, and wait until it is ready: clients see refused connections meanwhile."""
        assert self.process is not None
        self.process.stop()
        time.sleep(down_s)
        self.process.start()
        admin = (str(self.pki["admin.crt"]), str(self.pki["admin.key"]))
        ready = _ready(self.url + "/readyz", cert=admin, verify=str(self.pki["ca.crt"]))
        self.process.wait_until(ready, timeout_s, "/readyz = 200 after a restart")

    # --- REST, as the admin ------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        content_type: str = "application/json",
        params: Mapping[str, str] | None = None,
        ok: Iterable[int] = (200, 201),
    ) -> Any:
        data = None if body is None else json.dumps(body)
        response = self._session.request(
            method,
            self.url + path,
            data=data,
            params=params,
            headers={"Content-Type": content_type},
            verify=str(self.pki["ca.crt"]),
            timeout=30,
        )
        if response.status_code not in set(ok):
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
        return response.json() if response.content else None

    def status(self, path: str) -> int:
        """The status code of a GET (bodies of unserved paths are not JSON)."""
        response = self._session.get(self.url + path, verify=str(self.pki["ca.crt"]), timeout=30)
        return int(response.status_code)

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def apply(self, obj: Mapping[str, Any]) -> Any:
        """Server-side apply ``obj`` as the tests' field manager (force)."""
        return self.request(
            "PATCH",
            object_path(obj),
            body=obj,
            content_type="application/apply-patch+yaml",
            params={"fieldManager": TEST_FIELD_MANAGER, "force": "true"},
        )

    def delete(self, obj: Mapping[str, Any]) -> None:
        self.request("DELETE", object_path(obj), ok=(200, 202, 404))

    def create_namespace(self, name: str | None = None) -> str:
        name = name or f"t-{uuid.uuid4().hex[:10]}"
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def metric_total(self, name: str, **labels: str) -> float:
        """Sum of a Prometheus counter from ``/metrics`` whose labels include ``labels``."""
        response = self._session.get(
            self.url + "/metrics", verify=str(self.pki["ca.crt"]), timeout=30
        )
        response.raise_for_status()
        total = 0.0
        wanted = [f'{k}="{v}"' for k, v in labels.items()]
        for line in response.text.splitlines():
            if line.startswith(name + "{") and all(w in line for w in wanted):
                total += float(line.rsplit(" ", 1)[1])
        return total

    # --- CRDs --------------------------------------------------------------------------------

    def install_crds(self, path: Path, *, timeout_s: float = 60.0) -> list[str]:
        """Create every CRD in ``path`` (existing ones stay) and wait until each is Established."""
        names: list[str] = []
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                # Create, not server-side apply: SSA's field tracking of these large schemas
                # costs ~3x the time (12 s vs 3.5 s for Istio's 14 on a busy machine).
                self.request("POST", CRDS, body=doc, ok=(201, 409))
                names.append(doc["metadata"]["name"])
        deadline = time.monotonic() + timeout_s
        pending = set(names)
        while pending:
            listed = self.get(CRDS)
            for crd in listed["items"]:
                conditions = (crd.get("status") or {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                    pending.discard(crd["metadata"]["name"])
            if pending and time.monotonic() > deadline:
                raise RuntimeError(f"CRDs not established after {timeout_s}s: {sorted(pending)}")
            if pending:
                time.sleep(0.1)
        return names

    def wait_gone(self, path: str, timeout_s: float = 30.0) -> None:
        """Wait until ``path`` answers 404 (a deleted CRD stops being served)."""
        deadline = time.monotonic() + timeout_s
        while self.status(path) != 404:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path} still served after {timeout_s}s")
            time.sleep(0.1)

    # --- Least privilege ---------------------------------------------------------------------

    def kubeconfig_for(
        self,
        user: str,
        rules: list[dict[str, Any]],
        *,
        namespace: str | None = None,
        directory: Path | None = None,
    ) -> Path:
        """A kubeconfig for a new ``user`` allowed exactly ``rules``.

        With ``namespace`` the rules are a Role bound in that namespace (and the kubeconfig's
        context defaults to it); without, a ClusterRole bound cluster-wide.
        """
        cert, key = self.pki.client_cert(user)
        role_kind = "Role" if namespace else "ClusterRole"
        meta: dict[str, Any] = {"name": f"wasmkit-test-{user}"}
        if namespace:
            meta["namespace"] = namespace
        self.apply(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": role_kind,
                "metadata": meta,
                "rules": rules,
            }
        )
        self.apply(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": role_kind + "Binding",
                "metadata": meta,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": role_kind,
                    "name": meta["name"],
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
                ],
            }
        )
        out = (directory or self.directory) / f"kubeconfig-{user}-{uuid.uuid4().hex[:6]}"
        return write_kubeconfig(out, self.url, self.pki["ca.crt"], cert, key, namespace=namespace)

    def log(self, which: str = "kube-apiserver", lines: int = 40) -> str:
        path = self.directory / f"{which}.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


_CORE_GROUPS = {"v1": "/api/v1"}
_PLURALS = {
    "Namespace": ("namespaces", False),
    "ConfigMap": ("configmaps", True),
    "Service": ("services", True),
    "ServiceAccount": ("serviceaccounts", True),
    "Secret": ("secrets", True),
    "Deployment": ("deployments", True),
    "DaemonSet": ("daemonsets", True),
    "StatefulSet": ("statefulsets", True),
    "Role": ("roles", True),
    "RoleBinding": ("rolebindings", True),
    "ClusterRole": ("clusterroles", False),
    "ClusterRoleBinding": ("clusterrolebindings", False),
    "CustomResourceDefinition": ("customresourcedefinitions", False),
    "EnvoyFilter": ("envoyfilters", True),
    "WasmPlugin": ("wasmplugins", True),
}


def object_path(obj: Mapping[str, Any]) -> str:
    """The REST path of ``obj`` (kinds the tests use; others: lowercase kind + 's')."""
    api_version = obj["apiVersion"]
    kind = obj["kind"]
    plural, namespaced = _PLURALS.get(kind, (kind.lower() + "s", True))
    base = _CORE_GROUPS.get(api_version, f"/apis/{api_version}")
    meta = obj["metadata"]
    if namespaced and meta.get("namespace"):
        return f"{base}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
    return f"{base}/{plural}/{meta['name']}"


def _ready(url: str, **kw: Any) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return requests.get(url, timeout=2, **kw).status_code == 200
        except requests.RequestException:
            return False

    return check


@contextmanager
def run_kube_server(
    directory: Path,
    *,
    crds: Path | None = None,
    binaries: Path | None = None,
    timeout_s: float = 90.0,
) -> Iterator[KubeServer]:
    """Start etcd + kube-apiserver in ``directory``; see the module docstring."""
    bin_dir = binaries or kube_binaries()
    directory.mkdir(parents=True, exist_ok=True)
    pki = make_pki(directory / "pki")
    with ExitStack() as stack:
        client, peer, secure = free_port(), free_port(), free_port()
        etcd = ManagedProcess(
            "etcd",
            [
                str(bin_dir / "etcd"),
                "--name=wasmkit-test",
                f"--data-dir={directory / 'etcd-data'}",
                f"--listen-client-urls=http://127.0.0.1:{client}",
                f"--advertise-client-urls=http://127.0.0.1:{client}",
                f"--listen-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{peer}",
                f"--initial-cluster=wasmkit-test=http://127.0.0.1:{peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            directory,
        )
        stack.enter_context(etcd)
        etcd.wait_until(_ready(f"http://127.0.0.1:{client}/health"), timeout_s, "health")
        api = ManagedProcess(
            "kube-apiserver",
            [
                str(bin_dir / "kube-apiserver"),
                f"--etcd-servers=http://127.0.0.1:{client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={secure}",
                f"--cert-dir={directory / 'certs'}",
                f"--tls-cert-file={pki['server.crt']}",
                f"--tls-private-key-file={pki['server.key']}",
                f"--client-ca-file={pki['ca.crt']}",
                f"--service-account-key-file={pki['sa.pub']}",
                f"--service-account-signing-key-file={pki['sa.key']}",
                "--service-account-issuer=https://kubernetes.default.svc",
                "--authorization-mode=RBAC",
                "--service-cluster-ip-range=10.96.0.0/16",
                "--endpoint-reconciler-type=none",
                "--profiling=false",
                "--v=1",
            ],
            directory,
        )
        stack.enter_context(api)
        url = f"https://127.0.0.1:{secure}"
        kubeconfig = write_kubeconfig(
            directory / "kubeconfig", url, pki["ca.crt"], pki["admin.crt"], pki["admin.key"]
        )
        server = KubeServer(directory, url, pki, kubeconfig, process=api)
        admin = (str(pki["admin.crt"]), str(pki["admin.key"]))
        ready = _ready(url + "/readyz", cert=admin, verify=str(pki["ca.crt"]))
        api.wait_until(ready, timeout_s, "/readyz = 200")
        if crds is not None:
            server.install_crds(crds)
        yield server
