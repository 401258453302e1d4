"""The FilterDeployment resource (``wasme.io/v1``): its spec and status as pydantic models.

The models are the one description of the resource: the CRD's OpenAPI schema is generated from
them (:mod:`wasmkit.operator.crd`), so what the API server rejects and what the operator accepts
cannot drift apart. wasme's seed document (``deployment.istio {kind, labels}``,
``filter {config, image}``) validates unchanged; everything else has a default.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

GROUP = "wasme.io"
VERSION = "v1"
KIND = "FilterDeployment"
PLURAL = "filterdeployments"
SINGULAR = "filterdeployment"
SHORT_NAMES = ("fd",)

#: DNS-1123 label: filter ids become part of object names and labels.
ID_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
#: DNS-1123 subdomain (Secret and namespace names).
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
#: A label value (Kubernetes' own rule), used for selectors.
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
#: An image reference, loosely: the operator parses it fully (wasmkit.oci) and reports a bad one.
IMAGE_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9._/:@-]*$"
DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"
#: Filter ids become part of object names: ``<workload>-<id>`` must stay under 253 characters.
MAX_ID = 63
MAX_CONFIG = 64 * 1024


class _Spec(BaseModel):
    """Spec models: unknown keys refused, values frozen, camelCase on the wire."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class WorkloadKind(StrEnum):
    DEPLOYMENT = "Deployment"
    DAEMONSET = "DaemonSet"
    STATEFULSET = "StatefulSet"


class Delivery(StrEnum):
    """How the module reaches the sidecar.

    ``cache``: the node cache's file, mounted into the pod (the workload's pod template gets the
    mount, which restarts its pods once). ``http``: Envoy fetches ``GET /<sha256>`` from the node
    cache's Service and checks the hash; nothing restarts. ``wasmplugin``: Istio's own WasmPlugin,
    pointed at the same cache URL, so Istio's agent fetches it.
    """

    CACHE = "cache"
    HTTP = "http"
    WASMPLUGIN = "wasmplugin"


class PatchContext(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    GATEWAY = "gateway"


class ImagePullOptions(_Spec):
    pull_secret: str | None = Field(
        None,
        alias="pullSecret",
        max_length=253,
        pattern=NAME_PATTERN,
        description="A kubernetes.io/dockerconfigjson Secret in the resource's namespace.",
    )
    insecure_skip_verify: bool = Field(
        False, alias="insecureSkipVerify", description="Do not verify the registry's TLS."
    )
    plain_http: bool = Field(False, alias="plainHttp", description="The registry speaks HTTP.")


class FilterSpec(_Spec):
    image: str = Field(
        min_length=1,
        max_length=512,
        pattern=IMAGE_PATTERN,
        description="The filter image, by tag or digest; a tag is re-resolved periodically.",
    )
    config: str = Field(
        "", max_length=MAX_CONFIG, description="The plugin configuration the filter receives."
    )
    id: str | None = Field(
        None,
        max_length=MAX_ID,
        pattern=ID_PATTERN,
        description="The filter's id (default: <name>.<namespace> made a valid name).",
    )
    root_id: str | None = Field(
        None,
        alias="rootID",
        max_length=253,
        description="The root context id (default: the first the image declares).",
    )
    image_pull_options: ImagePullOptions = Field(
        default_factory=lambda: ImagePullOptions(), alias="imagePullOptions"
    )
    patch_context: PatchContext = Field(
        PatchContext.INBOUND,
        alias="patchContext",
        description="Which listeners get the filter: inbound, outbound or gateway.",
    )


class IstioDeployment(_Spec):
    kind: WorkloadKind = Field(WorkloadKind.DEPLOYMENT, description="The kind of the workloads.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        max_length=32,
        description="Workloads whose pod template carries all these labels (empty: every one).",
    )
    istio_namespace: str = Field(
        "istio-system", alias="istioNamespace", max_length=63, pattern=NAME_PATTERN
    )
    delivery: Delivery = Field(Delivery.CACHE, description="cache, http or wasmplugin.")


class DeploymentSpec(_Spec):
    istio: IstioDeployment


class FilterDeploymentSpec(_Spec):
    deployment: DeploymentSpec
    filter: FilterSpec

    def filter_id(self, name: str, namespace: str) -> str:
        return self.filter.id or default_id(name, namespace)


def default_id(name: str, namespace: str) -> str:
    """``<name>.<namespace>`` as a DNS-1123 label (what object names and label values need).

    Dots become dashes; a pair over 63 characters keeps its start and gets 8 hex characters of
    the full pair's hash, so two long names stay distinct.
    """
    original = f"{name}.{namespace}"
    full = re.sub(r"[^a-z0-9-]+", "-", original.lower()).strip("-") or "filter"
    if len(full) <= MAX_ID:
        return full
    tag = hashlib.sha256(original.encode()).hexdigest()[:8]
    return f"{full[: MAX_ID - 9].rstrip('-')}-{tag}"


# -- status ------------------------------------------------------------------------------------


class WorkloadState(StrEnum):
    PENDING = "Pending"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class WorkloadStatus(_Spec):
    kind: str
    name: str
    state: WorkloadState
    reason: str = ""


class NodeStatus(_Spec):
    name: str
    ready: bool
    reason: str = ""


class Condition(_Spec):
    type: str
    status: str = Field(pattern=r"^(True|False|Unknown)$")
    reason: str = ""
    message: str = ""
    last_transition_time: str = Field("", alias="lastTransitionTime")


class FilterDeploymentStatus(_Spec):
    observed_generation: int = Field(0, alias="observedGeneration")
    image: str = Field("", description="The image by digest the caches are asked to hold.")
    digest: str = Field("", description="The manifest digest the tag resolved to.")
    module_sha256: str = Field("", alias="moduleSha256")
    applied_image: str = Field(
        "", alias="appliedImage", description="The image by digest the workloads run now."
    )
    root_id: str = Field("", alias="rootID")
    workloads: list[WorkloadStatus] = Field(default_factory=list)
    nodes: list[NodeStatus] = Field(default_factory=list)
    conditions: list[Condition] = Field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class FilterDeploymentModel(BaseModel):
    """The whole object as the CRD describes it (metadata left to Kubernetes)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)
    spec: FilterDeploymentSpec
    status: FilterDeploymentStatus = Field(default_factory=lambda: FilterDeploymentStatus())
