"""``wasmkit istio install``: Istio's binaries from its published images, else the build.

The sequence spans two adapters: wasmkit's OCI client takes the files out of the images
(:func:`wasmkit.oci.image_files.image_files`: every digest verified, bounded, fixed names), the
Istio adapter checks and installs them and builds what the images lack
(:func:`wasmkit.istio.install.install_istio`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wasmkit.istio.images import IN_IMAGE, default_refs, place_binary
from wasmkit.istio.install import IstioRelease, Source, Step, install_istio
from wasmkit.oci.image_files import image_files
from wasmkit.oci.transfer import RegistryOptions


@dataclass(frozen=True)
class IstioImages:
    """The images to take the binaries from; None means Istio's published one for the release."""

    pilot: str | None = None
    proxy: str | None = None
    options: RegistryOptions = field(default_factory=RegistryOptions)

    def refs(self, version: str) -> dict[str, str]:
        refs = default_refs(version)
        chosen = dict(zip(refs, (self.pilot, self.proxy), strict=True))
        return {name: chosen[name] or ref for name, ref in refs.items()}


def install_from_images(
    images: IstioImages, version: str, target: Path, name: str, step: Step
) -> str:
    """Put ``name`` (pilot-discovery or pilot-agent) of Istio ``version`` into ``target`` from
    its image; returns the reference used, pinned to the manifest digest. Nothing is written
    unless every check passed."""
    ref = images.refs(version)[name]
    step(f"fetching {name} {version} from {ref}")
    with image_files(ref, [IN_IMAGE[name]], images.options, staging=target) as fetched:
        place_binary(fetched.files[IN_IMAGE[name]], target, name, version, ref)
    return f"{ref}@{fetched.manifest_digest}"


def install_release(
    version: str,
    *,
    into: Path | None = None,
    on_step: Step | None = None,
    source: Source = "auto",
    images: IstioImages | None = None,
) -> IstioRelease:
    """``wasmkit istio install``: the images when their registry answers, else the build."""
    chosen = images or IstioImages()
    return install_istio(
        version,
        into=into,
        on_step=on_step,
        source=source,
        from_images=lambda v, target, name, step: install_from_images(
            chosen, v, target, name, step
        ),
    )
