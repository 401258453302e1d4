"""The mesh-in-a-box: a real istiod serving plain Envoys posing as sidecars, on one machine.

``wasmkit test --istio VERSION`` runs a suite's cases through it (:class:`MeshEngine`); the
objects istiod receives are the ones ``wasmkit deploy`` renders. See ``docs/istio-mesh.md``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasmkit.filter import FailurePolicy, filter_name_for
from wasmkit.mesh.engine import MeshApi, MeshEngine
from wasmkit.testing.plan import FilterVariant, TestPlan

__all__ = ["MeshApi", "MeshEngine", "ServingMesh", "mesh_engine", "serve_mesh"]


@dataclass(frozen=True)
class ServingMesh:
    url: str  # the workload's inbound listener, through its sidecar
    istiod_debug: str  # istiod's debug endpoints (/debug/syncz, /debug/configz, ...)
    run_dir: Path
    alive: Callable[[], bool]
    notes: tuple[str, ...]


@contextmanager
def serve_mesh(
    istio: str,
    module: Path,
    *,
    root_id: str = "",
    config: str = "",
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED,
    port: int = 0,
    run_dir: Path | None = None,
    **options: Any,
) -> Iterator[ServingMesh]:
    """``wasmkit run --istio``: the mesh-in-a-box with one workload, kept up for curl."""
    engine = mesh_engine(istio, module, **options)
    engine.listen_port = port
    variant = FilterVariant(0, root_id, config, failure_policy)
    plan = TestPlan(filter_name_for(module), module, None, (variant,), ())
    directory = run_dir or Path(tempfile.mkdtemp(prefix="wasmkit-istio-"))
    try:
        with engine.up(plan, directory) as mesh:
            istiod = mesh.box.istiod
            assert istiod is not None and istiod.process is not None
            processes = [istiod.process.alive, *(s.envoy.alive for s in mesh.box.sidecars)]
            yield ServingMesh(
                url=f"http://127.0.0.1:{mesh.targets[0].workload.port}",
                istiod_debug=f"http://127.0.0.1:{istiod.ports.http}/debug",
                run_dir=directory,
                alive=lambda: all(check() for check in processes),
                notes=mesh.notes,
            )
    finally:
        if run_dir is None:
            shutil.rmtree(directory, ignore_errors=True)


def mesh_engine(
    istio: str,
    module: Path,
    *,
    api: str = "envoyfilter",
    source: str | None = None,
    image: str | None = None,
    istiod: str | None = None,
    agent: str | None = None,
    artifacts_dir: Path | None = None,
    request_timeout_s: float = 10.0,
) -> MeshEngine:
    """The engine behind ``wasmkit test --istio``: Istio ``istio``'s istiod, its Envoy as the
    sidecar, objects from the deploy renderers, the module delivered by ``source``."""
    from wasmkit.abi import find_platform
    from wasmkit.envoy.versions import ensure_envoy
    from wasmkit.errors import UsageError
    from wasmkit.istio import find_istio
    from wasmkit.istio.istiod import free_port
    from wasmkit.mesh.deployed import DEFAULT_SOURCE, DeployedObjects, MeshSource, check_source

    try:
        mesh_api = MeshApi(api)
        mesh_source = MeshSource(source) if source else DEFAULT_SOURCE[mesh_api]
    except ValueError as exc:
        raise UsageError(
            str(exc), hint="--api envoyfilter|wasmplugin, --source cache|file|oci"
        ) from None
    check_source(mesh_api, mesh_source, image)
    release = find_istio(istio, istiod=istiod, agent=agent)
    manifest_digest = None
    if mesh_source is MeshSource.OCI and image:
        manifest_digest = _stored_image_digest(image, module)
    envoy = ensure_envoy(find_platform("istio", release.minor).envoy)
    objects = DeployedObjects(
        release.minor, module, mesh_source, image, manifest_digest, cache_port=free_port()
    )
    return MeshEngine(
        release,
        envoy,
        objects,
        api=mesh_api,
        via_agent=mesh_source is MeshSource.OCI
        or (mesh_source is MeshSource.HTTP and mesh_api is MeshApi.WASM_PLUGIN),
        artifacts_dir=artifacts_dir,
        request_timeout_s=request_timeout_s,
        delivered=objects.delivered,
    )


def _stored_image_digest(image: str, module: Path) -> str:
    """The manifest digest of ``image`` as wasmkit stored and pushed it (holding ``module``)."""
    import hashlib

    from wasmkit.errors import UsageError
    from wasmkit.oci import LocalStore

    record = LocalStore().resolve(image)
    if record.module_sha256 != hashlib.sha256(module.read_bytes()).hexdigest():
        raise UsageError(
            f"the image {image} holds another module than the one under test ({module})",
            hint=f"rebuild and push it: wasmkit build -t {image} && wasmkit push {image}",
        )
    return str(record.manifest_digest)
