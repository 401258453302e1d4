"""Every language, as data: init -> build (local runner) -> wasmkit test in a real Envoy, and
how builds fail. The shared behaviours are parametrised over :data:`LANGUAGES`; what only one
language has (a toolchain quirk, a platform it refuses) follows, one test each.

To add a language: one :class:`Lang` entry (its source file, the edits that break or change it,
what its toolchain says), plus its own tests below if it has quirks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli import ok, wasmkit
from tests.conftest import FIXTURES
from tests.integration.build.conftest import (
    build_without_toolchains,
    copy,
    init,
    set_config,
)
from wasmkit._resources import resource_dir
from wasmkit.abi import AbiVersion
from wasmkit.build.languages.go import GO_FOR_OLD_ENVOY
from wasmkit.loadcheck import load_problems
from wasmkit.module import ModuleInfo, inspect_file

pytestmark = [pytest.mark.toolchain, pytest.mark.envoy]

Edit = tuple[str, str]  # (old, new) in the language's source file


def go_versions_in(module: Path) -> set[str]:
    """The Go release(s) a module was built with (the runtime embeds its version string)."""
    data = module.read_bytes()
    found = set()
    start = data.find(b"go1.")
    while start != -1:
        end = start + 4
        while end < len(data) and data[end : end + 1] in b"0123456789.":
            end += 1
        found.add(data[start:end].decode().rstrip("."))
        start = data.find(b"go1.", end)
    return found


def _cpp_module(info: ModuleInfo, module: Path) -> None:
    assert not [i for i in info.imports if i.module != "env"], "libc++ abort paths pulled in WASI"


def _rust_module(info: ModuleInfo, module: Path) -> None:
    assert info.start == "_initialize" and info.allocator == "proxy_on_memory_allocate"
    assert load_problems(info) == []
    wasi = {i.name for i in info.imports if i.module == "wasi_snapshot_preview1"}
    assert wasi <= {"fd_write", "environ_get", "environ_sizes_get", "proc_exit"}, wasi


def _go_module(info: ModuleInfo, module: Path) -> None:
    assert info.start == "_initialize"
    assert load_problems(info) == []
    assert GO_FOR_OLD_ENVOY in go_versions_in(module)  # Istio 1.28 runs Envoy 1.36


def _as_module(info: ModuleInfo, module: Path) -> None:
    assert "env.abort" not in [i.qualified for i in info.imports]


@dataclass(frozen=True)
class Lang:
    name: str
    source: str  # the file the edits below change
    abi: AbiVersion
    check_module: Callable[[ModuleInfo, Path], None]
    compile_error: Edit
    compiler_says: tuple[str, ...]  # in stderr after compile_error
    platform_version: str = "1.28"
    build_args: tuple[str, ...] = ()  # extra `wasmkit build` flags of the shared build
    build_says: tuple[str, ...] = ("built in",)  # in stderr after the shared build
    compile_args: tuple[str, ...] = ()  # extra `wasmkit build` flags for the compile error
    timeout: float = 900
    #: (the edit, what else to edit so it is called) for an import Envoy does not have
    teleport: tuple[Edit, ...] = ()
    missing_tools: tuple[str, ...] = ()  # in stderr when PATH has no toolchain
    rebuild_edit: Edit | None = None  # changes the module; None: not checked here
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


LANGUAGES = (
    Lang(
        "cpp",
        "filter.cc",
        AbiVersion.V0_2_1,
        _cpp_module,
        ("return FilterHeadersStatus::Continue;", "retrun;"),
        ("compile filter.cc with clang++-19 failed", "filter.cc:", "error:", "hint: fix the C++"),
        build_args=("--root-check", "envoy"),
        build_says=("built in", "root id 'add_header' registered (checked in Envoy 1.40.0)"),
        timeout=300,
        teleport=(
            (
                "using namespace proxy_wasm;",
                'extern "C" uint32_t proxy_teleport(uint32_t) PROXY_WASM_IMPORT(proxy_teleport);\n'
                "using namespace proxy_wasm;",
            ),
            ("    replaceRequestHeader(", "    proxy_teleport(1);\n    replaceRequestHeader("),
        ),
        missing_tools=("clang++-19", "apt-get install -y --no-install-recommends clang-19 lld-19"),
        rebuild_edit=('"hello"', '"hello-again"'),
    ),
    Lang(
        "rust",
        "src/lib.rs",
        AbiVersion.V0_2_1,
        _rust_module,
        ("self.greeting = text;", "self.greeting = txet;"),
        (
            "cargo build (std built from source) failed",
            "error[E0425]: cannot find value `txet`",  # rustc's own words
            "src/lib.rs:",
            "hint: fix the Rust",
        ),
        teleport=(
            (
                "/// One per HTTP request.",
                '#[link(wasm_import_module = "env")]\nextern "C" {\n'
                "    fn proxy_teleport(x: u32) -> u32;\n}\n\n/// One per HTTP request.",
            ),
            ("Action::Continue", "unsafe { proxy_teleport(1) };\n        Action::Continue"),
        ),
        missing_tools=(
            "rust-lld",
            "apt-get install -y --no-install-recommends rustc-web cargo-web",
            "lld-22",
        ),
        marks=(pytest.mark.slow,),
    ),
    Lang(
        "go",
        "main.go",
        AbiVersion.V0_2_0,
        _go_module,
        ("p.greeting = string(data)", "p.greeting = string(dta)"),
        (
            "go build (GOOS=wasip1 GOARCH=wasm) failed",
            "main.go:",
            "undefined: dta",  # the compiler's words
            "hint: fix the Go",
        ),
        teleport=(
            (
                "// httpContext exists once per HTTP request.",
                "//go:wasmimport env proxy_teleport\nfunc teleport(x uint32) uint32\n\n"
                "// httpContext exists once per HTTP request.",
            ),
            ("\treturn types.ActionContinue\n}", "\tteleport(1)\n\treturn types.ActionContinue\n}"),
        ),
        missing_tools=("- go: Go 1.24+", "install Go 1.24 or newer"),
        rebuild_edit=('ReplaceHttpResponseHeader("hello",', 'ReplaceHttpResponseHeader("hola",'),
        marks=(pytest.mark.slow,),
    ),
    Lang(
        "assemblyscript",
        "assembly/index.ts",
        AbiVersion.V0_2_0,
        _as_module,
        ("this.value = String", "this.value = 42 + String"),
        ("compile assembly/index.ts with asc failed", "ERROR", "index.ts"),
        platform_version="1.31",
        build_says=("root id 'add_header' registered",),
        compile_args=("--debug",),
        timeout=300,
        marks=(pytest.mark.slow,),
    ),
)
BY_NAME = {lang.name: lang for lang in LANGUAGES}


def _params(*, having: str | None = None) -> list[object]:
    chosen = [lang for lang in LANGUAGES if having is None or getattr(lang, having)]
    return [pytest.param(lang, id=lang.name, marks=lang.marks) for lang in chosen]


def edit(project: Path, lang: Lang, old: str, new: str) -> None:
    source = project / lang.source
    text = source.read_text()
    assert old in text
    source.write_text(text.replace(old, new, 1))


_BUILT: dict[str, Path] = {}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Lang], Path]:
    """``built(lang)``: the language's scaffold built once per worker, copied by tests that
    change it (the toolchain caches are shared, so later builds are incremental)."""

    def get(lang: Lang) -> Path:
        if lang.name not in _BUILT:
            base = tmp_path_factory.mktemp(lang.name)
            project = init(base, lang.name, lang.platform_version)
            done = ok(
                wasmkit(
                    "build", project, "--runner", "local", *lang.build_args, timeout=lang.timeout
                )
            )
            for words in lang.build_says:
                assert words in done.stderr
            _BUILT[lang.name] = project
        return _BUILT[lang.name]

    return get


# --- every language -------------------------------------------------------------------------


@pytest.mark.parametrize("lang", _params())
def test_scaffold_builds_and_passes_its_tests_then_follows_the_config(
    lang: Lang, built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    project = copy(built(lang), tmp_path)
    assert json.loads((project / "build" / "runtime-config.json").read_text()) == {
        "type": "envoy_proxy",
        "abiVersions": [lang.abi.value],
        "config": {"rootIds": ["add_header"]},
    }
    module = project / "build" / "filter.wasm"
    info = inspect_file(module)
    assert info.abi_versions == (lang.abi,)
    lang.check_module(info, module)
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"

    set_config(project, "world", "mars", expectations=False)
    done = wasmkit("test", project)
    assert done.returncode == 1
    assert "mars" in done.stdout + done.stderr  # the header now carries the new configuration
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("world", "mars"))
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.parametrize("lang", _params())
def test_envoy_and_the_emulator_agree_on_the_scaffold(
    lang: Lang, built: Callable[[Lang], Path]
) -> None:
    done = ok(wasmkit("test", built(lang), "--engine", "both"))
    assert done.stdout.splitlines()[-1] == "8 passed, 0 failed"  # 4 cases on each engine


@pytest.mark.parametrize("lang", _params())
def test_a_compile_error_shows_the_compiler_output(
    lang: Lang, built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    project = copy(built(lang), tmp_path)
    edit(project, lang, *lang.compile_error)
    done = wasmkit("build", project, "--runner", "local", *lang.compile_args)
    assert done.returncode == 2, done.stderr
    for words in lang.compiler_says:
        assert words in done.stderr


@pytest.mark.parametrize("lang", _params(having="missing_tools"))
def test_a_missing_toolchain_exits_3_with_the_install_command(
    lang: Lang, built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    done = build_without_toolchains(copy(built(lang), tmp_path), tmp_path)
    for words in lang.missing_tools:
        assert words in done.stderr


@pytest.mark.parametrize("lang", _params(having="teleport"))
def test_a_module_importing_what_envoy_lacks_is_refused_by_name(
    lang: Lang, built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    project = copy(built(lang), tmp_path)
    for old, new in lang.teleport:
        edit(project, lang, old, new)
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "import env.proxy_teleport is not provided by istio 1.28" in done.stderr


@pytest.mark.parametrize("lang", _params(having="rebuild_edit"))
def test_unchanged_inputs_skip_the_build_and_an_edit_rebuilds(
    lang: Lang, built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    assert lang.rebuild_edit is not None
    project = copy(built(lang), tmp_path)
    before = (project / "build" / "filter.wasm").read_bytes()
    assert "up to date" in ok(wasmkit("build", project, "--runner", "local")).stderr
    edit(project, lang, *lang.rebuild_edit)
    assert "built in" in ok(wasmkit("build", project, "--runner", "local")).stderr
    assert (project / "build" / "filter.wasm").read_bytes() != before


# --- C++ ------------------------------------------------------------------------------------

CPP, RUST, GO, AS = (BY_NAME[n] for n in ("cpp", "rust", "go", "assemblyscript"))


def test_cpp_a_root_id_the_code_does_not_register_is_caught(
    built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    project = copy(built(CPP), tmp_path)
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("rootId: add_header", "rootId: other_root"))
    for how in ("emulator", "envoy"):
        done = wasmkit("build", project, "--runner", "local", "--force", "--root-check", how)
        assert done.returncode == 2, done.stderr
        assert "root id 'other_root'" in done.stderr
        assert "no root context registered for root id 'other_root'" in done.stderr


def test_cpp_istio_1_5_gets_abi_0_1_0_and_still_passes(tmp_path: Path) -> None:
    project = init(tmp_path, "cpp", "1.5")
    ok(wasmkit("build", project, "--runner", "local"))
    info = inspect_file(project / "build" / "filter.wasm")
    assert info.abi_versions == (AbiVersion.V0_1_0,)
    assert info.export_signatures["proxy_on_request_headers"].params == ("i32", "i32")
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


def test_cpp_precompiled_modules_are_checked_and_adopted(
    built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    module = built(CPP) / "build" / "filter.wasm"
    target = tmp_path / "imported"
    done = ok(
        wasmkit(
            "build", target, "--precompiled", module, "--root-id", "add_header", "--abi", "0.2.1"
        )
    )
    assert (target / "build" / "filter.wasm").read_bytes() == module.read_bytes()
    config = json.loads((target / "build" / "runtime-config.json").read_text())
    assert config["abiVersions"] == ["0.2.1"] and config["config"]["rootIds"] == ["add_header"]
    assert "registered" in done.stderr
    wrong_abi = wasmkit(
        "build", target, "--precompiled", module, "--root-id", "add_header", "--abi", "0.2.0"
    )
    assert wrong_abi.returncode == 2 and "does not export ABI 0.2.0" in wrong_abi.stderr
    wrong_root = wasmkit(
        "build", target, "--precompiled", module, "--root-id", "nope", "--abi", "0.2.1"
    )
    assert wrong_root.returncode == 2 and "root id 'nope'" in wrong_root.stderr
    missing = wasmkit("build", target, "--precompiled", module)
    assert missing.returncode == 2 and "needs --root-id and --abi" in missing.stderr


def test_cpp_tag_stores_the_module_in_the_local_store(
    built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    project = copy(built(CPP), tmp_path)
    done = ok(wasmkit("build", project, "--runner", "local", "-t", "demo/filter:v1"))
    assert "stored as" in done.stderr and "sha256:" in done.stderr
    images = wasmkit("images")
    if images.returncode == 0:  # the image commands may land separately
        assert "demo/filter" in images.stdout


def test_cpp_a_filter_written_for_the_official_sdk_compiles_and_agrees(tmp_path: Path) -> None:
    """tests/fixtures/cpp/official_api: our own filter using the official proxy-wasm C++ SDK's
    public API (global names, LOG_*, WasmBufferType, getRequestHeaderPairs()->pairs(),
    `void onDone()`, RegisterContextFactory with root id "", a gRPC local reply), built
    unchanged against the scaffold's SDK and run on both engines."""
    project = tmp_path / "official_api"
    shutil.copytree(FIXTURES / "cpp" / "official_api", project)
    shutil.copytree(resource_dir("scaffolds") / "cpp" / "sdk", project / "sdk")
    ok(wasmkit("build", project, "--runner", "local"))
    done = ok(wasmkit("test", project, "--engine", "both", "--json"))
    report = json.loads(done.stdout)
    assert report["summary"] == {"passed": 8, "failed": 0, "skipped": 0, "diverged": 0}


def test_cpp_a_filter_written_for_the_abi_0_1_0_official_sdk_compiles_for_both_abis(
    tmp_path: Path,
) -> None:
    """tests/fixtures/cpp/abi_0_1_0_api: our own filter in the official C++ SDK's ABI 0.1.0-era
    API (`StringView`, `onRequestHeaders(uint32_t)` without end_of_stream), as Istio 1.5
    filters were written. It builds unchanged for Istio 1.5 (ABI 0.1.0) and 1.29 (ABI 0.2.1),
    and on both engines the host's header calls reach its single-argument overrides."""
    project = tmp_path / "abi_0_1_0_api"
    shutil.copytree(FIXTURES / "cpp" / "abi_0_1_0_api", project)
    shutil.copytree(resource_dir("scaffolds") / "cpp" / "sdk", project / "sdk")
    for version, abi in (("1.5", "ABI 0.1.0"), ("1.29", "ABI 0.2.1")):
        path = project / "wasmkit.yaml"
        path.write_text(re.sub(r'version: "[0-9.]+"', f'version: "{version}"', path.read_text()))
        built = ok(wasmkit("build", project, "--runner", "local", "--force"))
        assert abi in built.stderr, built.stderr
        done = ok(wasmkit("test", project, "--engine", "both", "--json"))
        report = json.loads(done.stdout)
        assert report["summary"] == {"passed": 2, "failed": 0, "skipped": 0, "diverged": 0}


# --- Rust -----------------------------------------------------------------------------------


@pytest.mark.slow
def test_rust_an_edit_rebuilds_only_the_crate_and_changes_the_behaviour(
    built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    project = copy(built(RUST), tmp_path)
    unchanged = ok(wasmkit("build", project, "--runner", "local")).stderr
    assert "up to date" in unchanged, unchanged
    edit(project, RUST, '.set_http_response_header("hello",', '.set_http_response_header("hola",')
    done = ok(wasmkit("build", project, "--runner", "local", "-v"))
    output = done.stdout + done.stderr
    assert "Compiling rust-istio-1-28" in output, output
    # std is cached
    assert "Compiling std" not in output and "Compiling core" not in output, output
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("headers: {hello: world}", "headers: {hola: world}"))
    done = wasmkit("test", project)
    assert done.returncode == 1  # the per-case configuration still expects `hello`
    assert "PASS  adds the hello header from the plugin configuration" in done.stdout


@pytest.mark.slow
def test_rust_the_crate_serves_any_root_id(built: Callable[[Lang], Path], tmp_path: Path) -> None:
    project = copy(built(RUST), tmp_path)
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("rootId: add_header", "rootId: other_root"))
    ok(wasmkit("build", project, "--runner", "local", "--force"))
    config = json.loads((project / "build" / "runtime-config.json").read_text())
    assert config["config"]["rootIds"] == ["other_root"]
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.slow
def test_rust_istio_1_7_is_refused_because_the_crate_speaks_only_0_2_1(
    built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    refused = "exports ABI 0.2.1; istio 1.7 accepts only 0.1.0, 0.2.0"
    done = wasmkit(
        "init", tmp_path / "new", "-l", "rust", "-p", "istio", "--platform-version", "1.7"
    )
    assert done.returncode == 2 and refused in done.stderr, done.stderr
    assert not (tmp_path / "new" / "Cargo.toml").exists()
    project = copy(built(RUST), tmp_path)  # an existing project moved to an older platform
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace('version: "1.28"', 'version: "1.7"'))
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2 and refused in done.stderr, done.stderr


@pytest.mark.slow
def test_rust_a_copied_project_never_reuses_its_twins_build(
    built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    """Same package name and version, one shared target dir, older mtimes in the copy."""
    twin = copy(built(RUST), tmp_path / "twin")
    edit(twin, RUST, '.set_http_response_header("hello",', '.set_http_response_header("hola",')
    ok(wasmkit("build", twin, "--runner", "local"))
    assert b"hola" in (twin / "build" / "filter.wasm").read_bytes()
    project = copy(built(RUST), tmp_path / "copy")  # copytree keeps the fixture's older mtimes
    ok(wasmkit("build", project, "--runner", "local", "--force"))
    assert b"hola" not in (project / "build" / "filter.wasm").read_bytes()
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.slow
def test_rust_a_build_never_hands_out_another_projects_module(tmp_path: Path) -> None:
    """Two projects whose libraries are both called `filter` share the cargo target dir:
    after `rm -rf build`, A's unchanged sources must give A's module again, not B's."""
    a, b = tmp_path / "a", tmp_path / "b"
    for project in (a, b):
        ok(wasmkit("init", project, "-l", "rust", "-p", "istio", "--platform-version", "1.28"))
    edit(a, RUST, '.set_http_response_header("hello",', '.set_http_response_header("hola",')
    ok(wasmkit("build", a, "--runner", "local", timeout=900))
    a_module = (a / "build" / "filter.wasm").read_bytes()
    assert b"hola" in a_module
    ok(wasmkit("build", b, "--runner", "local"))
    assert b"hola" not in (b / "build" / "filter.wasm").read_bytes()
    shutil.rmtree(a / "build")
    ok(wasmkit("build", a, "--runner", "local"))
    rebuilt = (a / "build" / "filter.wasm").read_bytes()
    assert hashlib.sha256(rebuilt).hexdigest() == hashlib.sha256(a_module).hexdigest()


# --- Go -------------------------------------------------------------------------------------


@pytest.mark.slow
def test_rust_a_panic_message_reaches_the_report_on_both_engines(
    built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    """The crate's panic hook logs the message at critical level; Envoy writes it as
    `wasm log <plugin> <root id> <vm id>: panicked at ...` over two lines, then the trap."""
    project = copy(built(RUST), tmp_path)
    edit(
        project,
        RUST,
        'if self.get_http_request_header("x-deny").is_some() {',
        'if self.get_http_request_header("x-panic").is_some() {\n'
        "            let refused: Result<(), proxy_wasm::types::Status> =\n"
        "                Err(proxy_wasm::types::Status::BadArgument);\n"
        "            refused.unwrap();\n"
        "        }\n"
        '        if self.get_http_request_header("x-deny").is_some() {',
    )
    ok(wasmkit("build", project, "--runner", "local"))
    suite = tmp_path / "panic.yaml"
    suite.write_text(
        "rootId: add_header\nconfig: world\ncases:\n"
        "  - name: panics\n    request: {headers: {x-panic: '1'}}\n    expect: {status: 200}\n"
    )
    module = project / "build" / "filter.wasm"
    done = wasmkit("test", "--module", module, "--file", suite, "--engine", "both")
    assert done.returncode == 1, done.stdout + done.stderr  # 503: the filter panicked
    for engine in ("envoy", "emulator"):
        report = done.stdout.split(f"FAIL  [{engine}] panics")[1].split("FAIL  [")[0]
        assert "the filter logged during this case:" in report, done.stdout
        assert "[critical] panicked at src/lib.rs:" in report, done.stdout
        assert "BadArgument" in report, done.stdout


@pytest.mark.slow
def test_rust_a_dependency_with_dependencies_for_other_platforms_builds_offline(
    tmp_path: Path,
) -> None:
    """tests/fixtures/rust/host_deps: chrono's clock needs iana-time-zone on cfg(unix) only,
    yet the offline compile wants it on disk. A cache of its own (std is compiled again, a few
    minutes) so no earlier build has left the crate there."""
    project = tmp_path / "host_deps"
    shutil.copytree(FIXTURES / "rust" / "host_deps", project)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    ok(wasmkit("build", project, "--runner", "local", env=env, timeout=1200))
    done = ok(wasmkit("test", project, "--engine", "both", "--json", env=env, timeout=600))
    report = json.loads(done.stdout)
    assert report["summary"] == {"passed": 2, "failed": 0, "skipped": 0, "diverged": 0}


@pytest.mark.slow
def test_go_envoy_1_39_and_newer_get_the_machines_own_go(tmp_path: Path) -> None:
    local = subprocess.run(
        ["go", "env", "GOVERSION"], capture_output=True, text=True, check=True, env=os.environ
    ).stdout.strip()
    project = init(tmp_path, "go", "1.31")  # Envoy 1.39
    ok(wasmkit("build", project, "--runner", "local", timeout=600))
    assert local in go_versions_in(project / "build" / "filter.wasm")
    assert ok(wasmkit("test", project)).stdout.splitlines()[-1] == "4 passed, 0 failed"


@pytest.mark.slow
def test_go_an_edit_changes_the_behaviour(built: Callable[[Lang], Path], tmp_path: Path) -> None:
    project = copy(built(GO), tmp_path)
    assert GO.rebuild_edit is not None
    edit(project, GO, *GO.rebuild_edit)
    assert "built in" in ok(wasmkit("build", project, "--runner", "local")).stderr
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("headers: {hello: world}", "headers: {hola: world}"))
    done = wasmkit("test", project)
    assert done.returncode == 1  # the per-case configuration still expects `hello`
    assert "PASS  adds the hello header from the plugin configuration" in done.stdout


@pytest.mark.slow
def test_go_platforms_older_than_envoy_1_33_are_refused(
    built: Callable[[Lang], Path], tmp_path: Path
) -> None:
    project = copy(built(GO), tmp_path)
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace('version: "1.28"', 'version: "1.20"'))
    done = wasmkit("build", project, "--runner", "local")
    assert done.returncode == 2, done.stderr
    assert "the Go SDK needs Envoy 1.33 or newer; istio 1.20 runs Envoy 1.28" in done.stderr


@pytest.mark.slow
def test_go_a_filter_that_calls_out_passes_on_both_engines(tmp_path: Path) -> None:
    """tests/fixtures/go/http_call: the Go SDK finds the answer to an HTTP call among its plugin
    (root) contexts and panics on any other id, so the emulator must answer as Envoy does."""
    project = tmp_path / "http_call"
    shutil.copytree(FIXTURES / "go" / "http_call", project)
    ok(wasmkit("build", project, "--runner", "local", timeout=900))
    done = ok(wasmkit("test", project, "--engine", "both", "--json", timeout=600))
    report = json.loads(done.stdout)
    # The suite declares cluster "auth": every case runs on Envoy too.
    assert report["summary"] == {"passed": 6, "failed": 0, "skipped": 0, "diverged": 0}
    emulated = [c for c in report["cases"] if c["engine"] == "emulator"]
    assert [c["passed"] for c in emulated] == [True, True, True]


# --- AssemblyScript -------------------------------------------------------------------------


@pytest.mark.slow
def test_assemblyscript_a_root_id_mismatch_is_caught_by_envoy_at_build_time(
    tmp_path: Path,
) -> None:
    project = init(tmp_path, "assemblyscript", "1.20")
    path = project / "wasmkit.yaml"
    path.write_text(path.read_text().replace("rootId: add_header", "rootId: other_root"))
    done = wasmkit("build", project, "--runner", "local", "--debug")
    assert done.returncode == 2, done.stderr
    assert "Missing root context factory for root id: other_root" in done.stderr
