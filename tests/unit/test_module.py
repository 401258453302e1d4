"""Module inspection: what a module declares and why Envoy would refuse it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wasmkit.abi import AbiVersion
from wasmkit.emulator.wat import module_file
from wasmkit.errors import ModuleError
from wasmkit.host import host_modules
from wasmkit.loadcheck import load_problems, require_loadable
from wasmkit.module import inspect_file

Wat = Callable[[str], Path]


def test_add_header_is_clean(wat: Wat) -> None:
    info = inspect_file(wat("add_header"))
    assert info.abi_versions == (AbiVersion.V0_2_1,)
    assert info.allocator == "malloc" and info.has_memory
    assert "proxy_on_response_headers" in info.callbacks
    assert {i.qualified for i in info.imports} >= {"env.proxy_log", "env.proxy_send_local_response"}
    assert load_problems(info) == []
    assert len(info.sha256) == 64


@pytest.mark.parametrize(
    ("fixture", "code", "text"),
    [
        ("no_abi", "no-abi", "exports no proxy_abi_version_* marker"),
        ("unknown_import", "missing-import", "import env.abort is not provided by Envoy"),
        (
            "bad_signature",
            "bad-signature",
            "import env.proxy_log has signature (i32, i32) -> (i32)",
        ),
    ],
)
def test_each_problem_is_named(wat: Wat, fixture: str, code: str, text: str) -> None:
    info = inspect_file(wat(fixture))
    problems = load_problems(info)
    assert [p.code for p in problems] == [code]
    assert text in problems[0].message
    with pytest.raises(ModuleError) as raised:
        require_loadable(info)
    assert text in raised.value.message and raised.value.hint


def test_abi_outside_the_platform_is_refused(wat: Wat) -> None:
    info = inspect_file(wat("add_header"))
    problems = load_problems(info, accepted_abis=[AbiVersion.V0_1_0])
    assert [p.code for p in problems] == ["bad-abi"]
    assert "0.2.1" in problems[0].message


def test_not_wasm_and_corrupt_files(tmp_path: Path) -> None:
    text = tmp_path / "x.wasm"
    text.write_text("hello")
    with pytest.raises(ModuleError, match="does not start with"):
        inspect_file(text)
    corrupt = tmp_path / "c.wasm"
    corrupt.write_bytes(b"\0asm\x01\0\0\0garbage")
    with pytest.raises(ModuleError, match="not a valid WebAssembly module"):
        inspect_file(corrupt)
    with pytest.raises(ModuleError, match="does not exist"):
        inspect_file(tmp_path / "missing.wasm")


def test_wat_is_compiled_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    source = tmp_path / "f.wat"
    source.write_text('(module (memory (export "memory") 1))')
    first = module_file(source)
    assert first.suffix == ".wasm" and first.read_bytes().startswith(b"\0asm")
    assert module_file(source) == first
    bad = tmp_path / "bad.wat"
    bad.write_text("(module (oops))")
    with pytest.raises(ModuleError, match="not valid WebAssembly text"):
        module_file(bad)


def test_older_envoys_link_fewer_wasi_functions(tmp_path: Path) -> None:
    source = tmp_path / "fs.wat"
    source.write_text(
        '(module (import "wasi_snapshot_preview1" "path_filestat_get"'
        " (func (param i32 i32 i32 i32 i32) (result i32)))"
        ' (memory (export "memory") 1)'
        ' (func (export "malloc") (param i32) (result i32) (i32.const 0))'
        ' (func (export "proxy_abi_version_0_2_1")))'
    )
    info = inspect_file(module_file(source))
    assert load_problems(info, envoy_version="1.40") == []
    assert load_problems(info, envoy_version="1.39") == []
    old = load_problems(info, envoy_version="1.36", host_name="Istio 1.28 (Envoy 1.36)")
    assert [p.message for p in old] == [
        "import wasi_snapshot_preview1.path_filestat_get is not provided by Istio 1.28 (Envoy 1.36)"
    ]
    assert host_modules("1.14-dev (envoy-wasm fork)") == host_modules("1.36")
