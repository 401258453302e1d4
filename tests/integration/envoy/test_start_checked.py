"""One Envoy per run: ``envoy --mode validate`` runs only when the start gave no reason."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from wasmkit.envoy import EnvoyProcess, Listener, find_envoy, render_bootstrap, start_checked
from wasmkit.errors import ModuleLoadError, ProcessFailed
from wasmkit.filter import FilterSpec, LocalCode, envoy_wasm_filter

pytestmark = pytest.mark.envoy


def _envoy(run_dir: Path, module: Path, root_id: str = "add_header") -> EnvoyProcess:
    run_dir.mkdir()
    block = envoy_wasm_filter(FilterSpec("t", root_id, LocalCode(str(module)), "world"))
    config = run_dir / "envoy.yaml"
    config.write_text(
        render_bootstrap(
            [Listener("l", block)], upstream_port=1, access_log=str(run_dir / "access.log")
        )
    )
    return EnvoyProcess(find_envoy(), config, run_dir)


def test_a_good_start_runs_no_second_envoy(tmp_path: Path, wat: Callable[[str], Path]) -> None:
    with start_checked(_envoy(tmp_path / "run", wat("add_header"))) as envoy:
        assert envoy.alive()
        assert envoy.listener_ports()["l"] > 0
    assert not (tmp_path / "run" / "validate.log").exists()


def test_a_refused_module_is_reported_from_the_start_log(
    tmp_path: Path, wat: Callable[[str], Path]
) -> None:
    envoy = _envoy(tmp_path / "run", wat("configure_fails"), root_id="")
    with pytest.raises(ModuleLoadError) as info, start_checked(envoy):
        pass
    assert "Failed to configure base Wasm plugin" in str(info.value)
    assert not envoy.alive()
    assert not (tmp_path / "run" / "validate.log").exists()


def test_a_start_that_names_no_module_reason_asks_validate(
    tmp_path: Path, wat: Callable[[str], Path]
) -> None:
    envoy = _envoy(tmp_path / "run", wat("add_header"))
    config = yaml.safe_load(envoy.config.read_text())
    config["static_resources"]["bogus"] = 1
    envoy.config.write_text(yaml.safe_dump(config))
    with pytest.raises(ProcessFailed) as info, start_checked(envoy):
        pass
    assert "refused the generated configuration" in str(info.value)
    assert (tmp_path / "run" / "validate.log").read_text()
