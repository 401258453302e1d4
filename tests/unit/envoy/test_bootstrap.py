"""The harness bootstrap: declared clusters (gRPC ones over HTTP/2) and the route's metadata."""

from __future__ import annotations

import json

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
    clusters = {c["name"]: c for c in yaml.safe_load(text)["static_resources"]["clusters"]}
    assert sorted(clusters) == ["authz", "upstream", "web"]
    assert clusters["web"]["load_assignment"]["endpoints"][0]["lb_endpoints"][0] == {
        "endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 2}}}
    }
    options = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
    http2 = clusters["authz"]["typed_extension_protocol_options"][options]
    assert http2["explicit_http_config"] == {"http2_protocol_options": {}}
    assert "typed_extension_protocol_options" not in clusters["web"]


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


def test_the_bootstrap_names_its_maker_and_is_json_under_the_comment() -> None:
    text = render_bootstrap([Listener("l", {"name": "f"})], upstream_port=1, access_log="/x")
    header, body = text.split("\n", 1)
    assert header.startswith("# Rendered by wasmkit ") and header.endswith(" for test.")
    assert json.loads(body) == yaml.safe_load(text)  # Envoy reads it as YAML


def test_a_listener_name_and_log_path_are_quoted_not_interpreted() -> None:
    name, path = 'l: "x"\n  - #', "/tmp/a b: c.log"
    text = render_bootstrap([Listener(name, {"name": "f"})], upstream_port=1, access_log=path)
    listener = yaml.safe_load(text)["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert listener["name"] == manager["stat_prefix"] == name
    assert manager["access_log"][0]["typed_config"]["path"] == path
