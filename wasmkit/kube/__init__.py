"""The Kubernetes adapter: the only place wasmkit imports the ``kubernetes`` package.

Public surface::

    KubeClient.connect(kubeconfig=None, context=None)   kubeconfig or in-cluster config
      .list(kind, namespace, label_selector=) / .get() / .apply(obj, field_manager=) / .delete()
      .apply_status(obj, field_manager=)                 server-side apply of a status
      .connection()                                      server and credentials, for kopf
      .requests                                          API requests made (for benchmarks)
    RESOURCES / resource(kind)                           the kinds wasmkit reads and writes
"""

from __future__ import annotations

from wasmkit.kube.client import RESOURCES, Connection, KubeClient, KubeObject, Resource, resource

__all__ = ["RESOURCES", "Connection", "KubeClient", "KubeObject", "Resource", "resource"]
