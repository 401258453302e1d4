"""`wasmkit test --istio`: the objects istiod gets come from wasmkit's deploy renderers.

A C++ scaffold built once with the local toolchain runs through Istio 1.29 as an EnvoyFilter
(deploy's node cache path, bound into the sidecar), as a WasmPlugin with a file:// url and as
a WasmPlugin pulled by Istio's agent from a real docker-registry; deploy's Istio 1.5 form given
to Istio 1.29 fails as applied to no listener.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli import ok, wasmkit
from tests.conftest import FIXTURES, compile_wat
from tests.integration.build.conftest import init
from tests.integration.oci.servers import Registry
from wasmkit.deploy import CacheService
from wasmkit.istio import IstioRelease
from wasmkit.mesh import mesh_engine
from wasmkit.mesh.deployed import DeployedObjects, MeshSource
from wasmkit.mesh.modules import hosts_file
from wasmkit.tasks.test import resolve_inputs
from wasmkit.testing import run_tests

ISTIO = "1.29"


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WASMKIT_HOME", str(tmp_path_factory.mktemp("home")))
        project = init(tmp_path_factory.mktemp("cpp"), "cpp", version=ISTIO)
        ok(wasmkit("build", project, "--runner", "local"))
        yield project


def _as_json_config(project: Path) -> Path:
    """The scaffold's suite with a mapping configuration, which a WasmPlugin can carry."""
    path = project / "wasmkit.yaml"
    text = path.read_text()
    text = text.replace("config: world\n", "config: {greeting: world}\n", 1)
    text = text.replace("{hello: world}", "{hello: {regex: world}}")
    text = text.replace("x-stamp: world", "x-stamp: {regex: world}")
    text = text.replace("config: tomorrow", "config: {greeting: tomorrow}")
    text = text.replace("{hello: tomorrow}", "{hello: {regex: tomorrow}}")
    path.write_text(text)
    return project


@pytest.mark.toolchain
def test_scaffold_passes_as_an_envoy_filter(istio_release: IstioRelease, scaffold: Path) -> None:
    done = ok(wasmkit("test", scaffold, "--istio", "platform"))  # the project's: Istio 1.29
    assert "engine istio: Istio 1.29.1 (istiod) + Envoy 1.37.0 sidecar, envoyfilter" in done.stdout
    assert "bundled Envoy" not in done.stderr
    assert done.stdout.splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.toolchain
def test_scaffold_passes_as_a_wasm_plugin_file_and_refuses_a_string_config(
    istio_release: IstioRelease, scaffold: Path, tmp_path: Path
) -> None:
    refused = wasmkit("test", scaffold, "--istio", ISTIO, "--api", "wasmplugin")
    assert refused.returncode == 2, refused.stderr
    assert "a WasmPlugin cannot carry a plain-string configuration" in refused.stderr
    project = tmp_path / "json"
    project.mkdir()
    for item in scaffold.iterdir():
        (project / item.name).symlink_to(item)
    (project / "wasmkit.yaml").unlink()
    (project / "wasmkit.yaml").write_text((scaffold / "wasmkit.yaml").read_text())
    done = ok(wasmkit("test", _as_json_config(project), "--istio", ISTIO, "--api", "wasmplugin"))
    assert done.stdout.splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.registry
def test_wasm_plugin_oci_image_through_the_agent(
    istio_release: IstioRelease, registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WASMKIT_HOME", str(tmp_path / "home"))
    module = compile_wat("add_header", tmp_path)
    ref = registry.ref("filters/add-header:v1")
    ok(wasmkit("push", ref, "--module", module, "--root-id", "add_header", "--plain-http"))
    suite = tmp_path / "tests.yaml"
    suite.write_text(
        "rootId: add_header\nconfig: {greeting: hi}\ncases:\n"
        "  - name: greets\n    expect: {headers: {hello: {regex: greeting}}}\n"
    )
    done = wasmkit(
        "test", "--module", module, "--file", suite, "--istio", ISTIO,
        "--api", "wasmplugin", "--source", "oci", "--image", ref,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "through Istio's agent" in done.stdout
    other = tmp_path / "other.wasm"
    other.write_bytes(module.read_bytes() + b"\0")
    mismatch = wasmkit(
        "test", "--module", other, "--file", suite, "--istio", ISTIO,
        "--api", "wasmplugin", "--source", "oci", "--image", ref,
    )  # fmt: skip
    assert mismatch.returncode == 2
    assert "holds another module than the one under test" in mismatch.stderr


def test_deploys_istio_1_5_form_on_1_29_is_applied_to_no_listener(
    istio_release: IstioRelease, tmp_path: Path
) -> None:
    module = compile_wat("add_header", tmp_path)
    engine = mesh_engine(ISTIO, module)
    # What wasmkit deploy renders for Istio 1.5, given to Istio 1.29.
    engine.render = DeployedObjects("1.5", module, MeshSource.CACHE)
    inputs = resolve_inputs(module=module, test_file=FIXTURES / "wat" / "add_header.tests.yaml")
    result = run_tests(inputs, [engine])
    assert result.load_error is not None
    assert "to no listener" in result.load_error
    assert 'deprecated filter name "envoy.http_connection_manager"' in result.load_error


def test_flags_that_cannot_combine_are_usage_errors(
    istio_release: IstioRelease, tmp_path: Path
) -> None:
    module = compile_wat("add_header", tmp_path)
    suite = FIXTURES / "wat" / "add_header.tests.yaml"
    for extra, said in (
        (["--source", "oci"], "--source oci does not go with --api envoyfilter"),
        (["--api", "wasmplugin", "--source", "oci"], "give it with --image REF"),
        (["--engine", "both"], "does not combine with --engine"),
    ):
        done = wasmkit("test", "--module", module, "--file", suite, "--istio", ISTIO, *extra)
        assert done.returncode == 2 and said in done.stderr, (extra, done.stderr)


def test_run_keeps_the_mesh_up_until_ctrl_c(istio_release: IstioRelease, tmp_path: Path) -> None:
    module = compile_wat("add_header", tmp_path)
    command = ["run", "--module", str(module), "--config", "served", "--root-id", "add_header"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasmkit", *command, "--istio", ISTIO],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("serving "), line + (proc.stderr.read() if proc.stderr else "")
        url = line.split(" at ", 1)[1].split()[0]
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.headers["hello"] == "served"
        debug = proc.stdout.readline().split(": ", 1)[1].split(",")[0]
        with urllib.request.urlopen(debug, timeout=5) as response:
            assert json.loads(response.read())[0]["proxy"] == "variant-0-0.wasmkit-test"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert out.splitlines()[-1] == "stopped"
    finally:
        proc.kill()


@pytest.mark.parametrize("api", ["envoyfilter", "wasmplugin"])
def test_http_source_from_deploys_cache_service_url(
    istio_release: IstioRelease, tmp_path: Path, api: str
) -> None:
    module = compile_wat("add_header", tmp_path)
    suite = tmp_path / "tests.yaml"
    suite.write_text(
        "rootId: add_header\nconfig: {greeting: hi}\ncases:\n"
        "  - name: greets\n    expect: {headers: {hello: {regex: greeting}}}\n"
    )
    done = wasmkit(
        "test", "--module", module, "--file", suite, "--istio", ISTIO, "--api", api,
        "--source", "http",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "1 passed, 0 failed"


def test_a_module_url_that_does_not_answer_is_a_load_error(
    istio_release: IstioRelease, tmp_path: Path
) -> None:
    module = compile_wat("add_header", tmp_path)
    engine = mesh_engine(ISTIO, module, source="http")
    objects = engine.render
    assert isinstance(objects, DeployedObjects)

    @contextmanager
    def names_only(run_dir: Path) -> Iterator[list[tuple[Path, Path]]]:
        # The cache Service's name resolves, but nothing serves the module there.
        yield [(hosts_file(run_dir / "hosts", [CacheService().host]), Path("/etc/hosts"))]

    engine.delivered = names_only
    inputs = resolve_inputs(module=module, test_file=FIXTURES / "wat" / "add_header.tests.yaml")
    result = run_tests(inputs, [engine])
    assert result.load_error is not None
    assert result.load_error.startswith("Envoy could not load the module: Retry limit exceeded")
