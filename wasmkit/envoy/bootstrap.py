"""Render the harness bootstrap (``harness/envoy-bootstrap.yaml.j2``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from wasmkit._resources import resource_dir
from wasmkit._templates import Templates


@dataclass(frozen=True)
class Listener:
    name: str
    filter: dict[str, Any]  # the http_filters entry from wasmkit.filter.envoy_wasm_filter
    port: int = 0
    address: str = "127.0.0.1"


@lru_cache(maxsize=1)
def _templates() -> Templates:
    return Templates([resource_dir("harness")])


def render_harness_template(name: str, **values: object) -> str:
    """Render another bootstrap of ``harness/`` (e.g. the Istio sidecar's) in the same sandbox."""
    from wasmkit import __version__

    return _templates().render(
        name,
        {"wasmkit_version": __version__, **values},
        hint="this is a bug in wasmkit's harness; please report it",
    )


def render_bootstrap(
    listeners: list[Listener],
    *,
    upstream_port: int,
    access_log: str,
    purpose: str = "test",
    admin_port: int = 0,
    route_timeout_s: float = 15.0,
    clusters: dict[str, int] | None = None,
    grpc_clusters: dict[str, int] | None = None,
    route_metadata: dict[str, dict[str, str]] | None = None,
) -> str:
    """``clusters``: more STATIC clusters on loopback (name -> port) the filter may call;
    ``grpc_clusters``: the same, speaking HTTP/2 (gRPC services); ``route_metadata``: the
    route's ``metadata.filter_metadata`` (namespace -> key -> string)."""
    from wasmkit import __version__

    values = {
        "listeners": listeners,
        "upstream_port": upstream_port,
        "access_log": access_log,
        "purpose": purpose,
        "admin_port": admin_port,
        "route_timeout": f"{route_timeout_s:g}s",
        "wasmkit_version": __version__,
        "route_metadata": route_metadata or {},
        "clusters": sorted(
            [(name, port, False) for name, port in (clusters or {}).items()]
            + [(name, port, True) for name, port in (grpc_clusters or {}).items()]
        ),
    }
    return _templates().render(
        "envoy-bootstrap.yaml.j2",
        values,
        hint="this is a bug in wasmkit's harness; please report it",
    )
