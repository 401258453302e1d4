"""Keep the test harness running for manual requests (``wasmkit run``)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wasmkit._validation import ConfigValue
from wasmkit.emulator.wat import module_file
from wasmkit.envoy.binary import EnvoyBinary, find_envoy
from wasmkit.envoy.bootstrap import Listener, render_bootstrap
from wasmkit.envoy.process import EnvoyProcess, start_checked
from wasmkit.envoy.upstream import EchoUpstream
from wasmkit.filter import (
    FailurePolicy,
    envoy_wasm_filter,
    filter_name_for,
    plugin_configuration,
)
from wasmkit.module import inspect_file
from wasmkit.testing.envoy_engine import variant_filter
from wasmkit.testing.plan import FilterVariant, TestPlan


@dataclass(frozen=True)
class Serving:
    url: str
    admin_url: str
    run_dir: Path
    envoy: EnvoyProcess


@contextmanager
def serve(
    module_path: Path,
    *,
    root_id: str,
    config: ConfigValue | None = None,
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED,
    port: int = 0,
    envoy: EnvoyBinary | None = None,
    run_dir: Path | None = None,
    name: str | None = None,
) -> Iterator[Serving]:
    """Envoy with the filter in front of the echo upstream until the block ends."""
    module_path = module_file(module_path)
    info = inspect_file(module_path)
    binary = envoy or find_envoy()
    keep = run_dir is not None
    directory = (run_dir or Path(tempfile.mkdtemp(prefix="wasmkit-run-"))).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    variant = FilterVariant(0, root_id, plugin_configuration(config), failure_policy)
    plan = TestPlan(name or filter_name_for(module_path), module_path, info, (variant,), ())
    try:
        with EchoUpstream() as upstream:
            listener = Listener(
                "variant-0", envoy_wasm_filter(variant_filter(plan, variant)), port=port
            )
            config_path = directory / "envoy.yaml"
            config_path.write_text(
                render_bootstrap(
                    [listener],
                    upstream_port=upstream.port,
                    access_log=str(directory / "access.log"),
                    purpose="run",
                )
            )
            process = EnvoyProcess(binary, config_path, directory)
            with start_checked(process):
                bound = process.listener_ports()["variant-0"]
                assert process.admin is not None
                yield Serving(
                    url=f"http://127.0.0.1:{bound}/",
                    admin_url=f"http://{process.admin.host}:{process.admin.port}/",
                    run_dir=directory,
                    envoy=process,
                )
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)
