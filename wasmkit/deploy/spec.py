"""One deployment spec: what to deploy, where, and how - resolved and checked once.

``wasmkit deploy istio``, the GitOps files, ``wasmkit deploy envoy`` and the operator all start
from a :class:`DeploymentSpec`. :func:`resolve_spec` turns a user's :class:`DeployRequest` plus
the image's facts (root ids, ABIs, both digests) and the target Istio release (a row of
``wasmkit.abi``) into a spec, or refuses with a hint: an id that is not a Kubernetes name, no
root id, an ABI the proxy does not speak, a plain-string configuration for a WasmPlugin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from wasmkit.abi import AbiVersion, PlatformRelease, find_platform
from wasmkit.deploy.inputs import Config, check_name
from wasmkit.errors import UsageError
from wasmkit.filter import FailurePolicy

#: Labels and annotations wasmkit puts on what it writes.
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "wasmkit"
FILTER_ID_LABEL = "wasmkit.dev/filter-id"
#: On an EnvoyFilter: the workload it was made for, ``<kind>/<name>``.
WORKLOAD_ANNOTATION = "wasmkit.dev/workload"
#: Server-side apply field manager.
FIELD_MANAGER = "wasmkit"
#: The node directory the module cache writes to and sidecars mount (wasme's path, kept so
#: clusters that ran wasme keep working).
CACHE_DIR = "/var/local/lib/wasme-cache"


class Api(StrEnum):
    AUTO = "auto"
    ENVOYFILTER = "envoyfilter"
    WASMPLUGIN = "wasmplugin"


class ModuleSource(StrEnum):
    """Where the proxy gets the module from."""

    CACHE = "cache"  # EnvoyFilter: the node cache file, mounted into the sidecar
    HTTP = "http"  # Envoy remote code / WasmPlugin http url: the in-cluster cache Service
    OCI = "oci"  # WasmPlugin only: Istio's agent pulls the image itself


class PatchContext(StrEnum):
    SIDECAR_INBOUND = "SIDECAR_INBOUND"
    SIDECAR_OUTBOUND = "SIDECAR_OUTBOUND"
    GATEWAY = "GATEWAY"
    ANY = "ANY"

    @classmethod
    def parse(cls, text: str) -> PatchContext:
        """``inbound``, ``outbound``, ``gateway``, ``any`` or the Istio spelling."""
        key = text.strip().upper().replace("-", "_")
        for candidate in (key, f"SIDECAR_{key}"):
            if candidate in cls.__members__:
                return cls[candidate]
        raise UsageError(
            f"unknown patch context {text!r}",
            hint="use one of: inbound, outbound, gateway, any",
        )


class WorkloadKind(StrEnum):
    DEPLOYMENT = "deployment"
    DAEMONSET = "daemonset"
    STATEFULSET = "statefulset"

    @property
    def kind(self) -> str:
        return {"deployment": "Deployment", "daemonset": "DaemonSet"}.get(self.value, "StatefulSet")

    @property
    def resource(self) -> str:
        return self.value + "s"

    @classmethod
    def parse(cls, text: str) -> WorkloadKind:
        key = text.strip().lower().rstrip("s")
        for kind in cls:
            if kind.value == key:
                return kind
        raise UsageError(
            f"unknown workload kind {text!r}",
            hint="use one of: deployment, daemonset, statefulset",
        )


class Phase(StrEnum):
    AUTHN = "AUTHN"
    AUTHZ = "AUTHZ"
    STATS = "STATS"


class PullPolicy(StrEnum):
    IF_NOT_PRESENT = "IfNotPresent"
    ALWAYS = "Always"


@dataclass(frozen=True)
class ImageInfo:
    """What deploying needs to know about an image (``wasmkit.oci`` reads it from the store)."""

    ref: str
    manifest_digest: str  # sha256:<hex> of the manifest
    module_sha256: str  # hex of the module itself
    root_ids: tuple[str, ...] = ()
    abi_versions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Workload:
    """A Deployment, DaemonSet or StatefulSet as deploying sees it."""

    kind: WorkloadKind
    name: str
    namespace: str
    pod_labels: Mapping[str, str]
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)  # the workload's own
    #: As read: the mount annotations are written only onto this version (see deploy.apply).
    resource_version: str = field(default="", compare=False)

    @property
    def ref(self) -> str:
        return f"{self.kind.value}/{self.name}"


@dataclass(frozen=True)
class CacheService:
    """The in-cluster module cache that ``--source http`` fetches from, by sha256."""

    name: str = "wasmkit-cache"
    namespace: str = "wasmkit-system"
    port: int = 8080

    @property
    def host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    def url(self, module_sha256: str) -> str:
        """The cache server answers ``GET /<sha256>`` with that module."""
        return f"http://{self.host}:{self.port}/{module_sha256}"

    def cluster(self, filter_id: str) -> str:
        """The Envoy cluster an EnvoyFilter defines for it (one per filter: two filters on one
        workload must not ADD the same cluster twice)."""
        return f"wasmkit-cache-{filter_id}"


@dataclass(frozen=True)
class WasmPluginOptions:
    phase: Phase | None = None
    priority: int | None = None
    image_pull_policy: PullPolicy | None = None
    image_pull_secret: str | None = None
    match: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class DeployRequest:
    """What the user asked for (the CLI's flags, or an operator's resource)."""

    image: str
    id: str
    namespace: str = "default"
    config: Config = field(default_factory=Config)
    labels: Mapping[str, str] = field(default_factory=dict)
    workload_kind: WorkloadKind = WorkloadKind.DEPLOYMENT
    patch_context: PatchContext = PatchContext.SIDECAR_INBOUND
    api: Api = Api.AUTO
    source: ModuleSource | None = None  # None: cache for EnvoyFilter, oci for WasmPlugin
    istio_version: str | None = None
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED
    root_id: str | None = None
    ignore_version_check: bool = False
    plugin: WasmPluginOptions = WasmPluginOptions()
    cache_service: CacheService = CacheService()


@dataclass(frozen=True)
class DeploymentSpec:
    """A request resolved against an image and an Istio release: ready to render."""

    image: ImageInfo
    id: str
    namespace: str
    root_id: str
    platform: PlatformRelease
    api: Api  # ENVOYFILTER or WASMPLUGIN
    source: ModuleSource
    config: Config
    failure_policy: FailurePolicy
    patch_context: PatchContext
    labels: Mapping[str, str]
    workload_kind: WorkloadKind
    plugin: WasmPluginOptions = WasmPluginOptions()
    cache_service: CacheService = CacheService()
    #: Why a choice was made for the user (shown by the CLI), e.g. why ``--api auto`` took
    #: an EnvoyFilter.
    notes: tuple[str, ...] = ()

    @property
    def object_labels(self) -> dict[str, str]:
        return {MANAGED_BY_LABEL: MANAGED_BY, FILTER_ID_LABEL: self.id}


def choose_root_id(requested: str | None, image: ImageInfo) -> str:
    """``requested``, else the image's only root id; refuses with a hint otherwise."""
    if requested:
        return requested
    if len(image.root_ids) == 1:
        return image.root_ids[0]
    if not image.root_ids:
        raise UsageError(
            f"the image {image.ref} names no root id",
            hint="pass --root-id ID (the root id the filter registers, e.g. add_header)",
        )
    raise UsageError(
        f"the image {image.ref} has several root ids: {', '.join(image.root_ids)}",
        hint="choose one with --root-id",
    )


def _check_abi(image: ImageInfo, platform: PlatformRelease, ignore: bool) -> None:
    known = {v.value for v in AbiVersion}
    spoken = {AbiVersion(a) for a in image.abi_versions if a in known}
    if not image.abi_versions or spoken & platform.abis or ignore:
        return
    raise UsageError(
        f"the image {image.ref} speaks ABI {', '.join(image.abi_versions)}, which "
        f"{platform.label} does not (it accepts {', '.join(sorted(platform.abis))})",
        hint="build the filter for that release (wasmkit.yaml: platform: {name: istio, "
        f'version: "{platform.version}"}}), or pass --ignore-version-check to deploy anyway',
    )


def _api(request: DeployRequest, platform: PlatformRelease) -> tuple[Api, tuple[str, ...]]:
    plain_string = bool(request.config.text) and request.config.data is None
    if request.api is Api.WASMPLUGIN:
        if not platform.wasm_plugin:
            raise UsageError(
                f"{platform.label} has no WasmPlugin API (Istio 1.12 and later have it)",
                hint="use --api envoyfilter (or --api auto)",
            )
        if plain_string:
            raise UsageError(
                "a WasmPlugin cannot carry a plain-string configuration: Istio passes "
                "pluginConfig to the filter as JSON",
                hint="give the configuration as a JSON/YAML mapping, or use --api envoyfilter "
                "(--api auto does that for a string)",
            )
        return Api.WASMPLUGIN, ()
    if request.api is Api.ENVOYFILTER:
        return Api.ENVOYFILTER, ()
    if not platform.wasm_plugin:
        return Api.ENVOYFILTER, (f"EnvoyFilter: {platform.label} has no WasmPlugin API",)
    if plain_string:
        return Api.ENVOYFILTER, (
            "EnvoyFilter: the configuration is a plain string, which a WasmPlugin cannot carry",
        )
    return Api.WASMPLUGIN, ()


def _source(request: DeployRequest, api: Api) -> ModuleSource:
    source = request.source
    if api is Api.WASMPLUGIN:
        if source is ModuleSource.CACHE:
            raise UsageError(
                "--source cache mounts the node cache for an EnvoyFilter; a WasmPlugin fetches "
                "the module itself",
                hint="use --source oci (the default) or --source http with --api wasmplugin",
            )
        return source or ModuleSource.OCI
    if source is ModuleSource.OCI:
        raise UsageError(
            "--source oci needs a WasmPlugin (Istio's agent pulls the image)",
            hint="use --source cache or --source http with an EnvoyFilter",
        )
    return source or ModuleSource.CACHE


def resolve_spec(request: DeployRequest, image: ImageInfo, istio_version: str) -> DeploymentSpec:
    """Check ``request`` against ``image`` and Istio ``istio_version``; see the module doc."""
    check_name(request.id)
    check_name(request.namespace, "namespace")
    platform = find_platform("istio", istio_version)
    root_id = choose_root_id(request.root_id, image)
    _check_abi(image, platform, request.ignore_version_check)
    api, notes = _api(request, platform)
    source = _source(request, api)
    form = platform.envoy_filter
    if (
        api is Api.ENVOYFILTER
        and form is not None
        and not form.failure_policy_field
        and request.failure_policy is FailurePolicy.FAIL_RELOAD
    ):
        raise UsageError(
            f"{platform.label} knows only fail-open or fail-closed for an EnvoyFilter",
            hint="use --failure-policy FAIL_OPEN or FAIL_CLOSED (FAIL_RELOAD needs Istio 1.19+)",
        )
    if platform.assumed:
        notes += (
            f"{platform.label} is newer than wasmkit's platforms table; "
            "treated like the newest release it knows",
        )
    return DeploymentSpec(
        image=image,
        id=request.id,
        namespace=request.namespace,
        root_id=root_id,
        platform=platform,
        api=api,
        source=source,
        config=request.config,
        failure_policy=request.failure_policy,
        patch_context=request.patch_context,
        labels=dict(request.labels),
        workload_kind=request.workload_kind,
        plugin=request.plugin,
        cache_service=request.cache_service,
        notes=notes,
    )
