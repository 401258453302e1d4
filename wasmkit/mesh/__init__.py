"""The mesh-in-a-box: a real istiod serving plain Envoys posing as sidecars, on one machine.

``wasmkit test --istio VERSION`` runs a suite's cases through it (:class:`MeshEngine`); the
objects istiod receives are the ones ``wasmkit deploy`` renders. See ``docs/istio-mesh.md``.
"""

from __future__ import annotations

from pathlib import Path

from wasmkit.mesh.engine import MeshApi, MeshEngine

__all__ = ["MeshApi", "MeshEngine", "mesh_engine"]


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
    objects = DeployedObjects(release.minor, module, mesh_source, image, manifest_digest)
    return MeshEngine(
        release,
        envoy,
        objects,
        api=mesh_api,
        via_agent=mesh_source is MeshSource.OCI,
        artifacts_dir=artifacts_dir,
        request_timeout_s=request_timeout_s,
        mounts=objects.mounts,
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
