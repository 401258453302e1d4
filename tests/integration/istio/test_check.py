"""istio-check: Istio 1.29's own admission webhook code, run offline by wasmkit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.istio.objects import ISTIO_1_5_NAMES, envoy_filter
from wasmkit.cli._app import run_cli
from wasmkit.cli.main import cli
from wasmkit.filter import FilterSpec, LocalCode
from wasmkit.istio import IstioRelease, check_objects
from wasmkit.mesh.engine import MeshApi, MeshTarget
from wasmkit.mesh.workload import Workload


def _old_and_new() -> list[dict[str, object]]:
    target = MeshTarget(
        Workload("echo", 9080, 8080),
        FilterSpec("hello", "add_header", LocalCode("/x.wasm"), configuration="y"),
        MeshApi.ENVOY_FILTER,
    )
    old = envoy_filter(target, ISTIO_1_5_NAMES)[0]
    old["metadata"] = {"name": "old", "namespace": "demo"}
    return [old, envoy_filter(target)[0]]


def test_istio_1_5_names_warn_deprecated_and_current_ones_do_not(
    istio_release: IstioRelease,
) -> None:
    result = check_objects(istio_release, _old_and_new())
    assert result.valid and result.istio == "1.29.1"
    old, new = result.objects
    assert any(
        'using deprecated filter name "envoy.http_connection_manager"' in w for w in old.warnings
    )
    assert any('"envoy.router"' in w for w in old.warnings)
    assert not [w for w in new.warnings if "deprecated" in w]


def test_cli_reports_invalid_objects_with_exit_1(
    istio_release: IstioRelease, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {
        "apiVersion": "extensions.istio.io/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": {"name": "bad", "namespace": "demo"},
        "spec": {"pluginName": "add_header"},
    }
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    path = tmp_path / "objects.yaml"
    path.write_text("\n---\n".join(json.dumps(o) for o in [*_old_and_new(), bad, config_map]))
    code = run_cli(cli, ["istio", "check", str(path), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert [(o["kind"], o["valid"], o["checked"]) for o in data["objects"]] == [
        ("EnvoyFilter", True, True),
        ("EnvoyFilter", True, True),
        ("WasmPlugin", False, True),
        ("ConfigMap", True, False),
    ]
    assert data["objects"][2]["errors"] == ["configuration is invalid: url field needs to be set"]


def test_unparseable_input_is_a_usage_error(istio_release: IstioRelease, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("a: [\n")
    assert run_cli(cli, ["istio", "check", str(path)]) == 2
