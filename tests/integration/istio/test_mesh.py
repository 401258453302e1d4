"""Suites run through a real istiod serving a plain Envoy as a sidecar (EnvoyFilter, WasmPlugin)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import FIXTURES, compile_wat
from tests.integration.istio.conftest import RunMesh
from tests.integration.istio.objects import envoy_filter, envoy_filter_istio_1_5, wasm_plugin
from wasmkit.mesh.engine import MeshApi

ADD_HEADER = yaml.safe_load((FIXTURES / "wat" / "add_header.tests.yaml").read_text())


def test_add_header_suite_passes_through_an_envoy_filter(run_mesh: RunMesh, tmp_path: Path) -> None:
    result = run_mesh(compile_wat("add_header", tmp_path), ADD_HEADER, envoy_filter)
    failed = [(c.name, [str(m) for m in c.mismatches]) for c in result.cases if c.mismatches]
    assert result.load_error is None and not failed, (result.load_error, failed)
    assert [r.engine for r in result.runs] == ["istio"]
    assert "Istio 1.29" in result.runs[0].description
    # Three configurations: three workloads, each with its own sidecar and EnvoyFilter.
    # The filter's own log line counts too: it comes from the sidecar's log.
    assert result.passed == len(ADD_HEADER["cases"])


def test_istio_1_5_filter_names_apply_to_no_listener(run_mesh: RunMesh, tmp_path: Path) -> None:
    suite = {**ADD_HEADER, "cases": ADD_HEADER["cases"][:1]}
    result = run_mesh(compile_wat("add_header", tmp_path), suite, envoy_filter_istio_1_5)
    assert not result.ok
    assert result.load_error is not None
    assert "applied EnvoyFilter wasmkit-test/variant-0 to no listener" in result.load_error
    assert "envoy.filters.http.router" in result.load_error  # what the listener does run
    assert 'deprecated filter name "envoy.http_connection_manager"' in result.load_error


def test_a_missing_module_file_is_envoys_nack_quoted(run_mesh: RunMesh, tmp_path: Path) -> None:
    module = compile_wat("add_header", tmp_path)

    def render_then_remove(target):  # type: ignore[no-untyped-def]
        objects = envoy_filter(target)
        module.unlink(missing_ok=True)  # Envoy gets a path that no longer exists
        return objects

    suite = {**ADD_HEADER, "cases": ADD_HEADER["cases"][:1]}
    result = run_mesh(module, suite, render_then_remove)
    assert result.load_error is not None
    assert result.load_error.startswith("Envoy rejected the configuration istiod sent:")
    assert str(module) in result.load_error


def test_wasm_plugin_file_url_carries_a_json_configuration(
    run_mesh: RunMesh, tmp_path: Path
) -> None:
    suite = {
        "rootId": "add_header",
        "config": {"greeting": "hi"},
        "cases": [
            {
                "name": "JSON configuration",
                "expect": {"headers": {"hello": {"regex": '"greeting": ?"hi"'}}},
            },
            {
                "name": "upstream stamp",
                "expect": {"upstreamHeaders": {"x-stamp": {"regex": "greeting"}}},
            },
        ],
    }
    result = run_mesh(
        compile_wat("add_header", tmp_path), suite, wasm_plugin, api=MeshApi.WASM_PLUGIN
    )
    failed = [(c.name, [str(m) for m in c.mismatches]) for c in result.cases if c.mismatches]
    assert result.load_error is None and not failed, (result.load_error, failed)
