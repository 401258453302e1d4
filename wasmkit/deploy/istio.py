"""``wasmkit deploy istio`` / ``undeploy istio`` as one library call each.

:func:`deploy_istio` reads the image (local store, else pulled and verified), then either applies
to the cluster (:func:`wasmkit.deploy.apply.deploy`), or - with ``dry_run`` or ``output_dir`` -
renders: per workload when a cluster answers (the API server validates with a server-side dry
run), else one EnvoyFilter for the labels, which needs ``istio_version``. ``output_dir`` gets one
file per object plus a ``kustomization.yaml``. The caller (CLI or operator) renders the result.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from wasmkit.deploy import apply as kube_apply
from wasmkit.deploy import mounts
from wasmkit.deploy.gitops import write_output_dir
from wasmkit.deploy.images import image_info
from wasmkit.deploy.inputs import check_name
from wasmkit.deploy.render import render_objects
from wasmkit.deploy.spec import Api, DeployRequest, ImageInfo, ModuleSource, resolve_spec
from wasmkit.deploy.validation import istio_check
from wasmkit.errors import ServiceUnavailable, UsageError
from wasmkit.kube import KubeClient
from wasmkit.oci import LocalStore, RegistryOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cluster:
    """Which cluster: a kubeconfig and context (None: the defaults, or in-cluster)."""

    kubeconfig: Path | None = None
    context: str | None = None

    def connect(self) -> KubeClient:
        return KubeClient.connect(self.kubeconfig, self.context)


def deploy_istio(
    request: DeployRequest,
    *,
    store: LocalStore,
    registry: RegistryOptions | None = None,
    cluster: Cluster = Cluster(),
    dry_run: bool = False,
    output_dir: Path | None = None,
) -> kube_apply.DeployResult:
    check_name(request.id)  # bad input is answered before anything is pulled or asked
    image = image_info(store, request.image, registry)
    render_only = dry_run or output_dir is not None
    try:
        kube = cluster.connect()
    except ServiceUnavailable as exc:
        if not render_only:
            raise
        result = _offline(request, image, why=exc.message)
    else:
        with kube:
            if not request.namespace:
                request = replace(request, namespace=kube.default_namespace or "default")
            try:
                result = kube_apply.deploy(kube, request, image, dry_run=render_only)
            except ServiceUnavailable as exc:
                if not render_only:
                    raise
                result = _offline(request, image, why=exc.message)
    if output_dir is not None:
        write_output_dir(output_dir, [*result.objects, *result.workload_patches])
    return result


def _offline(request: DeployRequest, image: ImageInfo, *, why: str) -> kube_apply.DeployResult:
    if not request.istio_version:
        raise UsageError(
            f"no cluster to ask for Istio's version ({why})",
            hint="pass --istio-version (e.g. 1.29) to render without a cluster",
        )
    spec = resolve_spec(
        replace(request, namespace=request.namespace or "default"), image, request.istio_version
    )
    objects = render_objects(spec, None)
    notes = [f"rendered without a cluster ({why})"]
    if spec.api is Api.ENVOYFILTER:
        notes[0] += ": one EnvoyFilter selecting the labels instead of one per workload"
    if spec.api is Api.ENVOYFILTER and spec.source is ModuleSource.CACHE:
        pod = {k: json.dumps([v], separators=(",", ":")) for k, v in mounts.ENTRIES.items()}
        notes.append(
            "the pods need the node cache: add to their pod template (with a cluster, deploy "
            "adds them) " + ", ".join(f"{k}: '{v}'" for k, v in pod.items())
        )
    return kube_apply.DeployResult(
        changes=(),
        objects=tuple(objects),
        spec=spec,
        dry_run=True,
        notes=(*spec.notes, *notes, *istio_check(objects, spec.platform.version)),
    )


def undeploy_istio(
    filter_id: str, namespace: str, *, cluster: Cluster = Cluster(), dry_run: bool = False
) -> kube_apply.DeployResult:
    check_name(filter_id)
    with cluster.connect() as kube:
        namespace = namespace or kube.default_namespace or "default"
        return kube_apply.undeploy(kube, filter_id, namespace, dry_run=dry_run)
