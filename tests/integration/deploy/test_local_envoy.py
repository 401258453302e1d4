"""wasmkit deploy envoy: the filter in a real Envoy, from the harness bootstrap or the user's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import REPO
from tests.integration.kube.conftest import IMAGE
from tests.integration.oci.conftest import Result
from wasmkit.deploy.envoy import insert_filter
from wasmkit.envoy.binary import find_envoy
from wasmkit.envoy.process import validate_config
from wasmkit.envoy.upstream import EchoUpstream

pytestmark = [pytest.mark.envoy]

USER_BOOTSTRAP = {
    "static_resources": {
        "listeners": [
            {
                "name": name,
                "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                "filter_chains": [
                    {
                        "filters": [
                            {
                                "name": "envoy.filters.network.http_connection_manager",
                                "typed_config": {
                                    "@type": "type.googleapis.com/envoy.extensions.filters.network."
                                    "http_connection_manager.v3.HttpConnectionManager",
                                    "stat_prefix": name,
                                    "route_config": {
                                        "virtual_hosts": [
                                            {
                                                "name": "all",
                                                "domains": ["*"],
                                                "routes": [
                                                    {
                                                        "match": {"prefix": "/"},
                                                        "direct_response": {"status": 200},
                                                    }
                                                ],
                                            }
                                        ]
                                    },
                                    "http_filters": [
                                        {
                                            "name": "envoy.filters.http.router",
                                            "typed_config": {
                                                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                                            },
                                        }
                                    ],
                                },
                            }
                        ]
                    }
                ],
            }
            for name in ("one", "two")
        ]
    }
}


def _http_filters(config: dict[str, Any]) -> list[list[str]]:
    return [
        [f["name"] for f in chain["filters"][0]["typed_config"]["http_filters"]]
        for listener in config["static_resources"]["listeners"]
        for chain in listener["filter_chains"]
    ]


def test_the_harness_config_loads_in_envoy(
    wasmkit: Callable[..., Result],
    store: object,
    tmp_path: Path,
) -> None:
    result = wasmkit("deploy", "envoy", IMAGE, "--config", "tomorrow", "-o", "yaml")
    assert result.code == 0, result.err
    config = yaml.safe_load(result.out)
    assert _http_filters(config) == [["envoy.filters.http.wasm", "envoy.filters.http.router"]]
    wasm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"
    ]["http_filters"][0]["typed_config"]["config"]
    assert wasm["configuration"]["value"] == "tomorrow" and wasm["root_id"] == "add_header"
    path = tmp_path / "envoy.yaml"
    path.write_text(result.out)
    validate_config(find_envoy(), path, tmp_path)


def test_a_users_bootstrap_gets_the_filter_in_every_connection_manager(
    wasmkit: Callable[..., Result],
    store: object,
    tmp_path: Path,
) -> None:
    bootstrap = tmp_path / "mine.yaml"
    bootstrap.write_text(yaml.safe_dump(USER_BOOTSTRAP))
    result = wasmkit("deploy", "envoy", IMAGE, "--bootstrap", str(bootstrap), "-o", "yaml")
    assert result.code == 0, result.err
    config = yaml.safe_load(result.out)
    assert _http_filters(config) == [["envoy.filters.http.wasm", "envoy.filters.http.router"]] * 2
    assert insert_filter(config, _first_wasm(config)) == config  # deploying again changes nothing
    (tmp_path / "out.yaml").write_text(result.out)
    validate_config(find_envoy(), tmp_path / "out.yaml", tmp_path)
    empty = tmp_path / "empty.yaml"
    empty.write_text("static_resources: {listeners: []}\n")
    refused = wasmkit("deploy", "envoy", IMAGE, "--bootstrap", str(empty), "-o", "yaml")
    assert refused.code == 2 and "no HTTP connection manager" in refused.err


def _first_wasm(config: dict[str, Any]) -> dict[str, Any]:
    chain = config["static_resources"]["listeners"][0]["filter_chains"][0]
    first: dict[str, Any] = chain["filters"][0]["typed_config"]["http_filters"][0]
    return first


def test_a_request_through_wasmkit_deploy_envoy_shows_the_filter(
    store: object,
    home: Path,
    tmp_path: Path,
) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "WASMKIT_HOME": str(home)}
    with EchoUpstream() as upstream:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wasmkit",
                "deploy",
                "envoy",
                IMAGE,
                "--config",
                "tomorrow",
                "--upstream-port",
                str(upstream.port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("listener wasmkit: http://127.0.0.1:"), process.stderr.read()  # type: ignore[union-attr]
            url = line.split(": ", 1)[1].strip()
            response = requests.get(url, timeout=10)
            assert response.status_code == 200 and response.headers["hello"] == "tomorrow"
        finally:
            process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=20)
    assert process.returncode == 0 and "stopped" in out
