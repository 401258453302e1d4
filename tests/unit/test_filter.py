"""The one Envoy Wasm filter block, and the harness bootstrap around it."""

from __future__ import annotations

import yaml

from wasmkit.envoy.bootstrap import Listener, render_bootstrap
from wasmkit.filter import (
    FailurePolicy,
    FilterSpec,
    LocalCode,
    RemoteCode,
    envoy_wasm_filter,
    filter_name_for,
    plugin_configuration,
)


def test_local_filter_block() -> None:
    spec = FilterSpec("f", "add_header", LocalCode("/abs/filter.wasm"), configuration="world")
    block = envoy_wasm_filter(spec)
    assert block["name"] == "envoy.filters.http.wasm"
    typed = block["typed_config"]
    assert typed["@type"] == "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
    config = typed["config"]
    assert config["root_id"] == "add_header"
    assert config["failure_policy"] == "FAIL_CLOSED"
    assert config["configuration"] == {
        "@type": "type.googleapis.com/google.protobuf.StringValue",
        "value": "world",
    }
    assert config["vm_config"] == {
        "vm_id": "f",
        "runtime": "envoy.wasm.runtime.v8",
        "code": {"local": {"filename": "/abs/filter.wasm"}},
    }


def test_remote_code_and_legacy_fail_open() -> None:
    spec = FilterSpec(
        "f",
        "r",
        RemoteCode("http://cache/f.wasm", "cache", "ab" * 32),
        failure_policy=FailurePolicy.FAIL_OPEN,
        legacy_fail_open=True,
    )
    config = envoy_wasm_filter(spec)["typed_config"]["config"]
    assert config["vm_config"]["code"]["remote"]["sha256"] == "ab" * 32
    assert config["vm_config"]["code"]["remote"]["http_uri"]["timeout"] == "10s"
    assert config["fail_open"] is True and "failure_policy" not in config
    assert "configuration" not in config


def test_plugin_configuration_forms() -> None:
    assert plugin_configuration(None) == ""
    assert plugin_configuration("raw text") == "raw text"
    assert plugin_configuration({"b": 1, "a": [True]}) == '{"a":[true],"b":1}'
    assert filter_name_for("My_Filter.v2.wasm") == "my-filter-v2"


def test_bootstrap_inserts_the_block_before_the_router() -> None:
    block = envoy_wasm_filter(
        FilterSpec("f", "r", LocalCode("/m.wasm"), configuration='a "quoted": value')
    )
    text = render_bootstrap(
        [Listener("variant-0", block), Listener("variant-1", block, port=8080)],
        upstream_port=1234,
        access_log="/tmp/a.log",
    )
    data = yaml.safe_load(text)
    listeners = data["static_resources"]["listeners"]
    assert [x["address"]["socket_address"]["port_value"] for x in listeners] == [0, 8080]
    hcm = listeners[0]["filter_chains"][0]["filters"][0]["typed_config"]
    filters = hcm["http_filters"]
    assert filters[0] == block
    assert filters[1]["name"] == "envoy.filters.http.router"
    endpoint = data["static_resources"]["clusters"][0]["load_assignment"]["endpoints"][0]
    assert (
        endpoint["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]["port_value"] == 1234
    )
    assert data["admin"]["address"]["socket_address"] == {"address": "127.0.0.1", "port_value": 0}
