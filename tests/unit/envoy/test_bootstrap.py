"""The harness bootstrap: declared clusters (gRPC ones over HTTP/2) and the route's metadata."""

from __future__ import annotations

import yaml

from wasmkit.envoy.bootstrap import Listener, render_bootstrap


def test_grpc_clusters_speak_http2_in_the_bootstrap() -> None:
    text = render_bootstrap(
        [Listener("l", {"name": "f"})],
        upstream_port=1,
        access_log="/dev/null",
        clusters={"web": 2},
        grpc_clusters={"authz": 3},
    )
    web, authz = text.split('- name: "web"')[1], text.split('- name: "authz"')[1]
    assert "http2_protocol_options" in authz.split("- name:")[0]
    assert "http2_protocol_options" not in web.split("- name:")[0]


def test_route_metadata_goes_on_the_harness_route() -> None:
    text = render_bootstrap(
        [Listener("l", {"name": "f"})],
        upstream_port=1,
        access_log="/dev/null",
        route_metadata={"wasmkit": {"tenant": "acme"}},
    )
    listener = yaml.safe_load(text)["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    route = manager["route_config"]["virtual_hosts"][0]["routes"][0]
    assert route["metadata"] == {"filter_metadata": {"wasmkit": {"tenant": "acme"}}}
