"""wasmkit's table of host functions agrees with the real Envoy it ships with."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import wasmtime

from wasmkit.envoy.binary import find_envoy
from wasmkit.envoy.bootstrap import Listener, render_bootstrap
from wasmkit.envoy.versions import ensure_envoy
from wasmkit.filter import FilterSpec, LocalCode, envoy_wasm_filter
from wasmkit.host import WASI_SINCE_1_39, host_modules
from wasmkit.module import ENV_FUNCTIONS, WASI_FUNCTIONS, Signature

pytestmark = pytest.mark.envoy


def _module_importing(imports: dict[tuple[str, str], Signature]) -> bytes:
    lines = []
    for (module, name), sig in imports.items():
        params = " ".join(sig.params)
        results = " ".join(sig.results)
        lines.append(
            f'(import "{module}" "{name}" (func (param {params}) (result {results})))'.replace(
                "(param )", ""
            ).replace("(result )", "")
        )
    text = (
        "(module\n"
        + "\n".join(lines)
        + """
  (memory (export "memory") 1)
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1)))"""
    )
    return bytes(wasmtime.wat2wasm(text))


def _validate(
    tmp_path: Path, module: bytes, envoy: Path | None = None
) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "m.wasm"
    path.write_bytes(module)
    block = envoy_wasm_filter(FilterSpec("t", "", LocalCode(str(path))))
    config = tmp_path / "envoy.yaml"
    config.write_text(
        render_bootstrap([Listener("l", block)], upstream_port=1, access_log="/dev/null")
    )
    return subprocess.run(
        [
            str(envoy or find_envoy().path),
            "--mode",
            "validate",
            "-c",
            str(config),
            "--disable-hot-restart",
            "-l",
            "warn",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_listed_function_links(tmp_path: Path) -> None:
    imports = {("env", n): s for n, s in ENV_FUNCTIONS.items()}
    imports |= {("wasi_snapshot_preview1", n): s for n, s in WASI_FUNCTIONS.items()}
    done = _validate(tmp_path, _module_importing(imports))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("wasi_snapshot_preview1", "proc_raise"),
        ("env", "proxy_get_configuration"),
        ("env", "abort"),
    ],
)
def test_unlisted_functions_do_not(tmp_path: Path, module: str, name: str) -> None:
    assert name not in ENV_FUNCTIONS and name not in WASI_FUNCTIONS
    done = _validate(tmp_path, _module_importing({(module, name): Signature(("i32",), ("i32",))}))
    assert done.returncode == 1
    assert f"missing import: {module}.{name}" in done.stdout + done.stderr


@pytest.mark.slow
def test_envoy_1_36_links_its_table_and_not_the_newer_wasi_calls(tmp_path: Path) -> None:
    envoy = ensure_envoy("1.36").path
    host = host_modules("1.36")
    imports = {
        (module, name): sig
        for module in ("env", "wasi_snapshot_preview1")
        for name, sig in host[module].items()
    }
    done = _validate(tmp_path, _module_importing(imports), envoy)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("path_filestat_get", "fd_filestat_get"):
        assert name in WASI_SINCE_1_39
        done = _validate(
            tmp_path,
            _module_importing({("wasi_snapshot_preview1", name): WASI_FUNCTIONS[name]}),
            envoy,
        )
        assert f"missing import: wasi_snapshot_preview1.{name}" in done.stdout + done.stderr
