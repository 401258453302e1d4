"""The build fingerprint: changes with sources and settings, not with outputs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from wasmkit.abi import AbiVersion, find_platform
from wasmkit.build.inputs import fingerprint, source_files, up_to_date, write_state
from wasmkit.build.language import BuildContext
from wasmkit.build.languages import get_language

CPP = get_language("cpp")
CTX = BuildContext("demo", "add_header", find_platform("istio", "1.28"), AbiVersion.V0_2_1)


def project(tmp_path: Path) -> Path:
    (tmp_path / "sdk").mkdir()
    (tmp_path / "sdk" / "proxy_wasm.h").write_text("// sdk")
    (tmp_path / "filter.cc").write_text("int x;")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "ignored.cc").write_text("not an input")
    return tmp_path


def test_sources_are_the_language_patterns_minus_outputs(tmp_path: Path) -> None:
    root = project(tmp_path)
    assert [p.as_posix() for p in source_files(root, CPP)] == ["filter.cc", "sdk/proxy_wasm.h"]


def test_fingerprint_follows_sources_and_settings(tmp_path: Path) -> None:
    root = project(tmp_path)
    first = fingerprint(root, CPP, CTX, "local")
    assert fingerprint(root, CPP, CTX, "local") == first
    (root / "build" / "ignored.cc").write_text("changed output")
    assert fingerprint(root, CPP, CTX, "local") == first
    assert fingerprint(root, CPP, CTX, "container") != first
    assert fingerprint(root, CPP, replace(CTX, release=False), "local") != first
    assert fingerprint(root, CPP, replace(CTX, root_id="other"), "local") != first
    (root / "sdk" / "proxy_wasm.h").write_text("// sdk v2")
    assert fingerprint(root, CPP, CTX, "local") != first


def test_up_to_date_needs_the_same_fingerprint_and_an_untouched_module(tmp_path: Path) -> None:
    import hashlib

    out = tmp_path / "build"
    out.mkdir()
    module = out / "filter.wasm"
    assert not up_to_date(out, module, "abc")
    module.write_bytes(b"\0asm-1")
    write_state(out, fingerprint="abc", module_sha256=hashlib.sha256(b"\0asm-1").hexdigest())
    assert up_to_date(out, module, "abc")
    assert not up_to_date(out, module, "abd")
    module.write_bytes(b"\0asm-2")
    assert not up_to_date(out, module, "abc")
