"""Adapter for Istio's own programs: istiod, the agent, and Istio's validation (istio-check).

Public API::

    from wasmkit.istio import find_istio, install_istio, check_objects, Istiod

Binaries come from ``wasmkit istio install VERSION`` (from Istio's images, else built once from
the Go module proxy; cached by version) or from ``--istiod`` / ``WASMKIT_ISTIOD``; see
:mod:`wasmkit.istio.install`.
"""

from wasmkit.istio.check import ConfigCheck, ObjectVerdict, check_files, check_objects
from wasmkit.istio.install import (
    MODULE_VERSIONS,
    IstioRelease,
    find_istio,
    install_istio,
    istio_cache,
    ready_releases,
    resolve_version,
)
from wasmkit.istio.istiod import Istiod

__all__ = [
    "MODULE_VERSIONS",
    "ConfigCheck",
    "IstioRelease",
    "Istiod",
    "ObjectVerdict",
    "check_files",
    "check_objects",
    "find_istio",
    "install_istio",
    "istio_cache",
    "ready_releases",
    "resolve_version",
]
