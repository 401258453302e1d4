"""The Rust and Go builders (data) and their scaffolds as rendered, without running a toolchain."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from wasmkit.abi import AbiVersion, find_platform
from wasmkit.build.core import choose_abi
from wasmkit.build.language import BuildContext
from wasmkit.build.languages import get_language
from wasmkit.build.languages.go import GO_FOR_OLD_ENVOY, toolchain_for
from wasmkit.errors import UsageError
from wasmkit.scaffold import ScaffoldValues, render_scaffold
from wasmkit.tasks.init import init_project


def ctx(language: str, version: str = "1.28", **kw: object) -> BuildContext:
    row = find_platform("istio", version)
    return BuildContext(
        name="demo",
        root_id="add_header",
        platform=row,
        abi=choose_abi(get_language(language), row),
        **kw,  # type: ignore[arg-type]
    )


def render(language: str, target: Path, name: str = "add-header") -> Path:
    values = ScaffoldValues(
        name=name,
        root_id="add_header",
        language=language,
        platform="istio",
        platform_version="1.28",
        envoy_version="1.36",
        abi="0.2.1" if language == "rust" else "0.2.0",
        abi_marker="",
    )
    render_scaffold(language, target, values)
    return target


# --- Rust -----------------------------------------------------------------------------------


def test_rust_fetches_online_then_builds_std_offline_into_the_output_dir() -> None:
    fetch, fetch_all, build = get_language("rust").steps(
        ctx("rust", extra_args=("--features", "x"))
    )
    assert fetch.network and fetch_all.network and not build.network
    assert fetch.argv[:2] == ("/usr/bin/cargo", "fetch") and "--locked" in fetch.argv
    # Every platform's crates too: the offline build wants a dependency's cfg(unix) ones.
    assert fetch_all.argv == ("/usr/bin/cargo", "fetch", "--locked")
    argv = build.argv
    assert argv[:2] == ("/usr/bin/cargo", "build")
    for flag in ("--offline", "--locked", "--release", "-Zbuild-std=std,panic_abort"):
        assert flag in argv
    assert argv[argv.index("--artifact-dir") + 1] == "{out}"
    assert argv[argv.index("--target") + 1] == "wasm32-wasip1"
    assert argv[-2:] == ("--features", "x")
    for step in (fetch, fetch_all, build):
        assert step.env["RUSTC"] == "/usr/bin/rustc"  # not rustup's, which comes first on PATH
        assert step.env["CARGO_TARGET_DIR"].startswith("{cache}")
        assert step.env["CARGO_HOME"].startswith("{cache}")


def test_rust_debug_builds_drop_release() -> None:
    build = get_language("rust").steps(ctx("rust", release=False))[-1]
    assert "--release" not in build.argv


def test_rust_speaks_only_0_2_1() -> None:
    rust = get_language("rust")
    assert choose_abi(rust, find_platform("istio", "1.8")) is AbiVersion.V0_2_1
    with pytest.raises(UsageError, match=r"exports ABI 0\.2\.1; istio 1\.7 accepts only"):
        choose_abi(rust, find_platform("istio", "1.7"))


@pytest.mark.parametrize("name", ["add-header", "aaa", "zz.top", "1st-filter", "m"])
def test_rust_lock_file_is_what_cargo_writes_for_any_project_name(
    tmp_path: Path, name: str
) -> None:
    """cargo --locked compares the lock file as text: packages sorted by name, ours included."""
    project = render("rust", tmp_path / "p", name)
    manifest = tomllib.loads((project / "Cargo.toml").read_text())
    lock = tomllib.loads((project / "Cargo.lock").read_text())
    crate = manifest["package"]["name"]
    assert re.fullmatch(r"[a-z][a-z0-9_-]*", crate), crate  # cargo's rule: no dots, no digit first
    names = [p["name"] for p in lock["package"]]
    assert names == sorted(names)
    ours = next(p for p in lock["package"] if p["name"] == crate)
    assert "source" not in ours and ours["dependencies"] == ["log", "proxy-wasm"]
    pinned = manifest["dependencies"]["proxy-wasm"].lstrip("=")
    assert any(p["name"] == "proxy-wasm" and p["version"] == pinned for p in lock["package"])
    assert manifest["lib"]["name"] == "filter"  # the artifact is always filter.wasm
    assert manifest["profile"]["release"]["panic"] == "abort"  # -Zbuild-std=std,panic_abort


def test_rust_scaffold_renders_the_main_macro_braces(tmp_path: Path) -> None:
    source = (render("rust", tmp_path / "p") / "src" / "lib.rs").read_text()
    assert "proxy_wasm::main! {{\n" in source and "\n}}\n" in source
    assert '"add_header_denied_total"' in source


# --- Go -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "toolchain"),
    [("1.25", GO_FOR_OLD_ENVOY), ("1.30", GO_FOR_OLD_ENVOY), ("1.31", "local"), ("1.99", "local")],
)
def test_go_toolchain_follows_the_envoy_under_the_platform(version: str, toolchain: str) -> None:
    assert toolchain_for(find_platform("istio", version)) == toolchain
    download, build = get_language("go").steps(ctx("go", version))
    assert download.env["GOTOOLCHAIN"] == build.env["GOTOOLCHAIN"] == toolchain


def test_go_downloads_online_then_builds_offline_for_wasip1() -> None:
    download, build = get_language("go").steps(ctx("go", extra_args=("-tags", "x")))
    assert download.network and not build.network
    assert download.argv == ("go", "mod", "download")
    assert build.env["GOOS"] == "wasip1" and build.env["GOARCH"] == "wasm"
    assert build.env["GOPROXY"] == "off" and "-mod=readonly" in build.env["GOFLAGS"]
    assert build.env["GOMODCACHE"] == download.env["GOMODCACHE"] == "{cache}/mod"
    argv = build.argv
    assert argv[:3] == ("go", "build", "-buildmode=c-shared")
    assert argv[argv.index("-o") + 1] == "{out}/filter.wasm"
    assert argv[-3:] == ("-tags", "x", ".")  # flags before the package


def test_go_refuses_envoy_before_1_33_and_speaks_0_2_0() -> None:
    go = get_language("go")
    for version in ("1.7", "1.24"):
        with pytest.raises(UsageError, match=r"the Go SDK needs Envoy 1\.33 or newer") as caught:
            go.steps(ctx("go", version))
        assert "istio 1.25+" in (caught.value.hint or "")
    assert go.steps(ctx("go", "1.25"))
    assert choose_abi(go, find_platform("envoy", "1.40")) is AbiVersion.V0_2_0


def test_go_init_for_an_old_envoy_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"the Go SDK needs Envoy 1\.33 or newer; istio 1\.20"):
        init_project(tmp_path / "p", language="go", platform="istio", platform_version="1.20")
    assert not (tmp_path / "p").exists()
    init_project(tmp_path / "q", language="go", platform="istio", platform_version="1.25")
    assert (tmp_path / "q" / "main.go").is_file()


@pytest.mark.parametrize(("name", "module"), [("add-header", "add-header"), ("go", "filter-go")])
def test_go_scaffold_pins_the_sdk_and_avoids_reserved_module_paths(
    tmp_path: Path, name: str, module: str
) -> None:
    project = render("go", tmp_path / "p", name)
    gomod = (project / "go.mod").read_text()
    assert f"module {module}\n" in gomod
    (sdk_version,) = re.findall(r"require github.com/proxy-wasm/proxy-wasm-go-sdk (\S+)", gomod)
    sums = (project / "go.sum").read_text()
    assert f"github.com/proxy-wasm/proxy-wasm-go-sdk {sdk_version} h1:" in sums
    source = (project / "main.go").read_text()
    assert '[][2]string{{"content-type", "text/plain"}}' in source
