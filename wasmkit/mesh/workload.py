"""A workload of the mesh-in-a-box, and the objects that make istiod build its sidecar.

No Pod, Service or Endpoints exist: istiod learns a workload's namespace and labels from its
proxy's node metadata. Two objects make the inbound side work with a plain Envoy: a
``PeerAuthentication`` with mTLS off (a plain Envoy has no workload certificate, and listeners
would wait for one forever) and a ``Sidecar`` whose ingress binds ``127.0.0.1:<port>`` and
forwards to the test upstream (without ``bind`` the listener binds all interfaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from wasmkit.istio.istiod import CLUSTER_ID, ROOT_NAMESPACE

NAMESPACE = "wasmkit-test"


@dataclass(frozen=True)
class Workload:
    name: str
    port: int  # the inbound port its sidecar listens on (127.0.0.1)
    upstream_port: int  # where that listener forwards (the recording upstream)
    namespace: str = NAMESPACE
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def pod(self) -> str:
        return f"{self.name}-0"

    @property
    def selector(self) -> dict[str, str]:
        return self.labels or {"app": self.name}

    @property
    def proxy_id(self) -> str:
        """How istiod's debug endpoints name the proxy (``?proxyID=``)."""
        return f"{self.pod}.{self.namespace}"

    @property
    def listener(self) -> str:
        """The name of the inbound listener istiod builds for the Sidecar below."""
        return f"127.0.0.1_{self.port}"

    def node_metadata(self, istio_version: str) -> dict[str, Any]:
        return {
            "NAMESPACE": self.namespace,
            "LABELS": self.selector,
            "CLUSTER_ID": CLUSTER_ID,
            "ISTIO_VERSION": istio_version,
            "INSTANCE_IPS": "127.0.0.1",
            "INTERCEPTION_MODE": "NONE",
            "WORKLOAD_NAME": self.name,
            "SERVICE_ACCOUNT": "default",
            "POD_NAME": self.pod,
        }

    def sidecar(self) -> dict[str, Any]:
        return {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Sidecar",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "workloadSelector": {"labels": self.selector},
                "ingress": [
                    {
                        "port": {"number": self.port, "protocol": "HTTP", "name": "http"},
                        "bind": "127.0.0.1",
                        "defaultEndpoint": f"127.0.0.1:{self.upstream_port}",
                    }
                ],
                "egress": [{"hosts": ["./*"]}],
            },
        }


def mtls_off() -> dict[str, Any]:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": ROOT_NAMESPACE},
        "spec": {"mtls": {"mode": "DISABLE"}},
    }
