"""The bootstrap of wasmkit's local Envoy, built as data and written as JSON (a YAML document).

One listener per filter variant, each with the wasm filter exactly as
:func:`wasmkit.filter.envoy_wasm_filter` renders it (the same block an Istio EnvoyFilter
inserts) before the router; the harness upstream's cluster, and one more per cluster the suite
lets the filter call (gRPC ones over HTTP/2). ``wasmkit test`` writes one on every run: built
in Python it costs no template engine (jinja2 and its compiler were a tenth of the run's
imports). The Istio sidecar's bootstrap (``harness/``) is a template:
:func:`render_harness_template`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from wasmkit._resources import resource_dir

if TYPE_CHECKING:
    from wasmkit._templates import Templates


@dataclass(frozen=True)
class Listener:
    name: str
    filter: dict[str, Any]  # the http_filters entry from wasmkit.filter.envoy_wasm_filter
    port: int = 0
    address: str = "127.0.0.1"


@lru_cache(maxsize=1)
def _templates() -> Templates:
    from wasmkit._templates import Templates

    return Templates([resource_dir("harness")])


def render_harness_template(name: str, **values: object) -> str:
    """Render another bootstrap of ``harness/`` (e.g. the Istio sidecar's) in the same sandbox."""
    from wasmkit import __version__

    return _templates().render(
        name,
        {"wasmkit_version": __version__, **values},
        hint="this is a bug in wasmkit's harness; please report it",
    )


def _socket(address: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": address, "port_value": port}}


def _cluster(name: str, port: int, *, http2: bool = False) -> dict[str, Any]:
    cluster: dict[str, Any] = {"name": name, "type": "STATIC", "connect_timeout": "2s"}
    if http2:  # a gRPC service: HTTP/2 to the upstream
        options = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
        cluster["typed_extension_protocol_options"] = {
            options: {
                "@type": f"type.googleapis.com/{options}",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
    cluster["load_assignment"] = {
        "cluster_name": name,
        "endpoints": [{"lb_endpoints": [{"endpoint": {"address": _socket("127.0.0.1", port)}}]}],
    }
    return cluster


def _listener(
    listener: Listener,
    access_log: str,
    route_timeout: str,
    route_metadata: dict[str, dict[str, str]],
) -> dict[str, Any]:
    route: dict[str, Any] = {
        "match": {"prefix": "/"},
        "route": {"cluster": "upstream", "timeout": route_timeout},
    }
    if route_metadata:
        route["metadata"] = {"filter_metadata": route_metadata}
    manager = {
        "@type": "type.googleapis.com/envoy.extensions.filters.network."
        "http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": listener.name,
        # The harness client sends a UUID x-request-id per case, so that the upstream can
        # tell which case a late request belongs to; Envoy keeps it instead of making one.
        "preserve_external_request_id": True,
        "access_log": [
            {
                "name": "envoy.access_loggers.file",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3."
                    "FileAccessLog",
                    "path": access_log,
                    "log_format": {
                        "json_format": {
                            "listener": listener.name,
                            "status": "%RESPONSE_CODE%",
                            "details": "%RESPONSE_CODE_DETAILS%",
                            "flags": "%RESPONSE_FLAGS%",
                        }
                    },
                },
            }
        ],
        "route_config": {
            "name": "wasmkit",
            "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [route]}],
        },
        "http_filters": [
            listener.filter,
            {
                "name": "envoy.filters.http.router",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                },
            },
        ],
    }
    return {
        "name": listener.name,
        "address": _socket(listener.address, listener.port),
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": manager,
                    }
                ]
            }
        ],
    }


def bootstrap_config(
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
) -> dict[str, Any]:
    """The Bootstrap as data (see :func:`render_bootstrap` for the arguments)."""
    route_timeout = f"{route_timeout_s:g}s"
    more = sorted(
        [(name, port, False) for name, port in (clusters or {}).items()]
        + [(name, port, True) for name, port in (grpc_clusters or {}).items()]
    )
    return {
        "node": {"id": f"wasmkit-{purpose}", "cluster": "wasmkit"},
        # Histograms are merged from the workers when stats are flushed: here, on every admin
        # stats request (no flush timer), so a test reads the samples of the case that ended.
        "stats_flush_on_admin": True,
        "admin": {"address": _socket("127.0.0.1", admin_port)},
        "static_resources": {
            "listeners": [
                _listener(listener, access_log, route_timeout, route_metadata or {})
                for listener in listeners
            ],
            "clusters": [
                _cluster("upstream", upstream_port),
                *(_cluster(name, port, http2=http2) for name, port, http2 in more),
            ],
        },
    }


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
    """The bootstrap as the text Envoy reads (``-c envoy.yaml``: JSON is YAML), after a comment
    that names wasmkit's version and the purpose. ``clusters``: more STATIC clusters on
    loopback (name -> port) the filter may call; ``grpc_clusters``: the same, speaking HTTP/2
    (gRPC services); ``route_metadata``: the route's ``metadata.filter_metadata`` (namespace ->
    key -> string)."""
    config = bootstrap_config(
        listeners,
        upstream_port=upstream_port,
        access_log=access_log,
        purpose=purpose,
        admin_port=admin_port,
        route_timeout_s=route_timeout_s,
        clusters=clusters,
        grpc_clusters=grpc_clusters,
        route_metadata=route_metadata,
    )
    return bootstrap_header(purpose) + json.dumps(config, indent=2) + "\n"


def bootstrap_header(purpose: str) -> str:
    """The comment line a rendered bootstrap starts with."""
    from wasmkit import __version__

    return f"# Rendered by wasmkit {__version__} for {purpose}.\n"
