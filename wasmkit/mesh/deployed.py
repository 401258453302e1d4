"""The objects istiod receives in ``wasmkit test --istio``: exactly what ``wasmkit deploy`` renders.

For each filter variant a :class:`~wasmkit.deploy.DeployRequest` is made (id and labels of the
variant's workload, its configuration, root id and failure policy), resolved against the module
and the Istio release with :func:`~wasmkit.deploy.resolve_spec`, and rendered with
:func:`~wasmkit.deploy.render_objects`: so a suite that passes here passed with the EnvoyFilter
or WasmPlugin a user would apply. How the module reaches the sidecar follows the source:

- ``cache`` (EnvoyFilter): the node cache path deploy points at
  (``/var/local/lib/wasme-cache/<sha256>``), bound into each sidecar's private mount namespace.
- ``http`` (both): deploy's cache Service URL, its name resolved to loopback by a hosts file in
  the sidecar's and agent's mount namespaces, the module served there (:mod:`.modules`).
- ``file`` (WasmPlugin): deploy's WasmPlugin with its url pointed at the module on this machine.
- ``oci`` (WasmPlugin): deploy's WasmPlugin for ``--image REF``, pulled by Istio's agent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from wasmkit._process import can_bind_mount
from wasmkit.deploy import (
    Api,
    CacheService,
    Config,
    DeployRequest,
    ImageInfo,
    ModuleSource,
    render_objects,
    resolve_spec,
)
from wasmkit.deploy.spec import CACHE_DIR
from wasmkit.errors import EnvironmentProblem, UsageError
from wasmkit.mesh.engine import MeshApi, MeshTarget
from wasmkit.mesh.modules import hosts_file, serve_module


class MeshSource(StrEnum):
    CACHE = "cache"
    HTTP = "http"
    FILE = "file"
    OCI = "oci"


DEFAULT_SOURCE = {MeshApi.ENVOY_FILTER: MeshSource.CACHE, MeshApi.WASM_PLUGIN: MeshSource.FILE}


def check_source(api: MeshApi, source: MeshSource, image: str | None) -> None:
    """Refuse combinations that cannot run, before anything starts."""
    allowed = {
        MeshApi.ENVOY_FILTER: (MeshSource.CACHE, MeshSource.HTTP),
        MeshApi.WASM_PLUGIN: (MeshSource.FILE, MeshSource.HTTP, MeshSource.OCI),
    }[api]
    if source not in allowed:
        raise UsageError(
            f"--source {source.value} does not go with --api {api.value}",
            hint=f"use --source {' or '.join(s.value for s in allowed)}",
        )
    if source is MeshSource.OCI and not image:
        raise UsageError(
            "--source oci tests an image in a registry: give it with --image REF",
            hint="wasmkit push REF first (a registry the agent reaches anonymously), or use "
            "--source file",
        )
    if source in (MeshSource.CACHE, MeshSource.HTTP) and not can_bind_mount():
        raise EnvironmentProblem(
            f"the {source.value} source shows each sidecar deploy's node cache path "
            f"({CACHE_DIR}) or the cache Service's name in a private mount namespace, which "
            "needs root",
            hint="run as root, or test the WasmPlugin form: --api wasmplugin --source file",
        )


@dataclass(frozen=True)
class DeployedObjects:
    """A :data:`~wasmkit.mesh.engine.Render` backed by wasmkit's deploy renderers."""

    istio_version: str
    module: Path
    source: MeshSource
    image: str | None = None
    manifest_digest: str | None = None
    #: ``http``: the loopback port the module is served on (deploy's cache Service port).
    cache_port: int = 0

    @property
    def module_sha256(self) -> str:
        return hashlib.sha256(self.module.read_bytes()).hexdigest()

    @contextmanager
    def delivered(self, run_dir: Path) -> Iterator[list[tuple[Path, Path]]]:
        """For the run: what each sidecar (and agent) must see, and the module server if any."""
        if self.source is MeshSource.CACHE:
            cache_dir = run_dir / "node-cache"
            cache_dir.mkdir(parents=True, exist_ok=True)
            (cache_dir / self.module_sha256).write_bytes(self.module.read_bytes())
            Path(CACHE_DIR).mkdir(parents=True, exist_ok=True)  # the mount point, empty
            yield [(cache_dir, Path(CACHE_DIR))]
        elif self.source is MeshSource.HTTP:
            hosts = hosts_file(run_dir / "hosts", [CacheService().host])
            with serve_module(self.module, self.module_sha256, self.cache_port):
                yield [(hosts, Path("/etc/hosts"))]
        else:
            yield []

    def __call__(self, target: MeshTarget) -> list[dict[str, Any]]:
        spec = target.spec
        sha256 = self.module_sha256
        request = DeployRequest(
            image=self.image or f"wasmkit.local/{target.workload.name}:test",
            id=target.workload.name,
            namespace=target.workload.namespace,
            config=_config(spec.configuration),
            labels=target.workload.selector,
            api=Api.ENVOYFILTER if target.api is MeshApi.ENVOY_FILTER else Api.WASMPLUGIN,
            source=_DEPLOY_SOURCE[self.source],
            cache_service=CacheService(port=self.cache_port or CacheService().port),
            failure_policy=spec.failure_policy,
            root_id=spec.root_id or None,
        )
        image = ImageInfo(
            ref=request.image,
            manifest_digest=self.manifest_digest or f"sha256:{sha256}",
            module_sha256=sha256,
            root_ids=(spec.root_id,),
        )
        objects = render_objects(resolve_spec(request, image, self.istio_version), None)
        if self.source is MeshSource.FILE:
            for obj in objects:
                obj["spec"]["url"] = self.module.resolve().as_uri()
                obj["spec"]["sha256"] = sha256
        return objects


_DEPLOY_SOURCE = {
    MeshSource.CACHE: ModuleSource.CACHE,
    MeshSource.HTTP: ModuleSource.HTTP,
    MeshSource.FILE: ModuleSource.OCI,  # then pointed at the file
    MeshSource.OCI: ModuleSource.OCI,
}


def _config(configuration: str) -> Config:
    try:
        data = json.loads(configuration) if configuration else None
    except ValueError:
        data = None
    return Config(text=configuration, data=data if isinstance(data, dict) else None)
