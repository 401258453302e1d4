"""Rust: the ``proxy-wasm`` crate (0.2.5, pinned in the scaffold's Cargo.lock) built with
Debian's Rust (``rustc-web``/``cargo-web`` 1.96), which compiles std for wasm32-wasip1 from
``rust-web-src`` (``-Zbuild-std``, allowed by ``RUSTC_BOOTSTRAP=1``): rustup cannot download
a wasm32 std here. Debian's binaries are called by absolute path because rustup's ``rustc``
usually comes first on PATH.

Everything slow lives under ``{cache}``: the crate registry (``CARGO_HOME``) and one target
directory shared by all Rust projects, so std is compiled once (1-3 min on 2 cores) and later builds
take ~2 s. ``--artifact-dir`` copies the module out while cargo holds the target lock, so
two projects building at once never see each other's ``filter.wasm``, and
``-Zchecksum-freshness`` makes cargo compare sources by content: cargo identifies a project by
package name and version (paths relative to the project), so a copied project whose files keep
older mtimes would otherwise be taken as already built by another's build.

Cargo names a local ``cdylib`` without a hash (``deps/filter.wasm``): every project whose library
is called ``filter`` would write the same file, and a project cargo finds fresh (e.g. after
``rm -rf build``) would be handed whichever ``filter.wasm`` was compiled last.
``__CARGO_DEFAULT_LIB_METADATA`` (the switch Rust's own bootstrap uses to keep its dylibs apart)
makes cargo add the unit's metadata hash, which covers the package name, version and
dependencies, to that file name; projects of the same name and version share one file and
are told apart by the content checksums above.

Debian's ``rust-lld`` is a link to ``lld-22``, which no package pulls in: install it too.
"""

from __future__ import annotations

import re

from wasmkit.abi import AbiVersion
from wasmkit.build.language import BuildContext, Language, Tool
from wasmkit.build.runner import Step

CARGO = "/usr/bin/cargo"
RUSTC = "/usr/bin/rustc"
TARGET = "wasm32-wasip1"
APT = (
    "apt-get install -y --no-install-recommends rustc-web cargo-web rust-web-src "
    "rust-web-llvm lld-22 wasi-libc"
)
BUILD_STD = "-Zbuild-std=std,panic_abort"

#: The environment of every cargo step (also what the scaffold's README tells users to set).
ENV: dict[str, str] = {
    "RUSTC": RUSTC,
    "RUSTC_BOOTSTRAP": "1",  # the -Z flags and --artifact-dir on a stable compiler
    "CARGO_HOME": "{cache}/cargo",
    "CARGO_TARGET_DIR": "{cache}/target",
    # std for wasm32-wasip1 links wasi-libc's libc.a from Debian's wasi-libc.
    "CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS": "-L native=/usr/lib/wasm32-wasi",
    "CARGO_TERM_COLOR": "never",
    # deps/<lib>-<hash>.wasm instead of one deps/<lib>.wasm for every project (docstring).
    "__CARGO_DEFAULT_LIB_METADATA": "wasmkit",
}


def fetch_argv() -> tuple[str, ...]:
    """Download the crates of Cargo.lock and of std's own dependencies (the only online step)."""
    return (CARGO, "fetch", "--locked", "--target", TARGET, BUILD_STD)


def fetch_all_platforms_argv() -> tuple[str, ...]:
    """Download Cargo.lock's crates for every platform: ``cargo build --offline --target
    wasm32-wasip1`` also wants the crates of dependencies for other platforms on disk (chrono's
    ``clock`` pulls iana-time-zone on cfg(unix)), which the fetch for the target leaves out."""
    return (CARGO, "fetch", "--locked")


def compile_argv(ctx: BuildContext, *, output_dir: str = "{out}") -> tuple[str, ...]:
    """The bare compiler command: ``{output_dir}/filter.wasm`` (the scaffold names the lib)."""
    mode = ("--release",) if ctx.release else ()
    return (
        CARGO,
        "build",
        "--offline",
        "--locked",
        *mode,
        "--target",
        TARGET,
        BUILD_STD,
        # The shared target dir serves every project of the same package name and version
        # alike; with mtimes alone, a copied project (older mtimes) would reuse another's build.
        "-Zchecksum-freshness",
        "-Zunstable-options",
        "--artifact-dir",
        output_dir,
        *ctx.extra_args,
    )


#: How `cargo ... --locked` refuses a Cargo.lock that Cargo.toml outgrew (cargo 1.96 words
#: it "cannot update the lock file"; older cargo "the lock file ... needs to be updated").
_STALE_LOCK = re.compile(r"cannot update the lock file|lock file .* needs to be updated")


def advise(output: str) -> str | None:
    """A Cargo.lock that no longer matches Cargo.toml: the build is --locked (reproducible),
    so the project records the new dependencies itself."""
    if not _STALE_LOCK.search(output):
        return None
    return (
        "Cargo.lock does not match Cargo.toml (a dependency was added or changed): run "
        "`cargo update --workspace` in the project (it records the new dependencies in "
        "Cargo.lock, leaving the other pins alone), then `wasmkit build` again"
    )


def _steps(ctx: BuildContext) -> tuple[Step, ...]:
    return (
        Step(fetch_argv(), env=ENV, description="cargo fetch (cached)", network=True),
        Step(
            fetch_all_platforms_argv(),
            env=ENV,
            description="cargo fetch, every platform (cached)",
            network=True,
        ),
        Step(compile_argv(ctx), env=ENV, description="cargo build (std built from source)"),
    )


LANGUAGE = Language(
    name="rust",
    display_name="Rust (proxy-wasm crate)",
    tools=(
        Tool(CARGO, install=APT, purpose="Debian's cargo (cargo-web)"),
        Tool(RUSTC, install=APT, purpose="Debian's rustc (rustc-web), builds std for wasm32"),
        Tool(
            None,
            install=APT,
            purpose="std's source, compiled for wasm32-wasip1 (rust-web-src)",
            files=("/usr/lib/rustlib/src/rust/library/std/Cargo.toml",),
        ),
        Tool(
            "rust-lld",
            install=APT,
            purpose="the WebAssembly linker (rust-web-llvm's link to lld-22)",
            version_args=("-flavor", "wasm", "--version"),
        ),
        Tool(
            None,
            install=APT,
            purpose="C library for wasm32-wasi",
            files=("/usr/lib/wasm32-wasi/libc.a",),
        ),
    ),
    # proxy-wasm 0.2.x exports 0.2.1 only: Istio 1.8+ / Envoy 1.17+.
    abis=(AbiVersion.V0_2_1,),
    steps=_steps,
    artifact=lambda ctx: "{out}/filter.wasm",
    image="wasmkit-builder-rust",
    sources=("Cargo.toml", "Cargo.lock", "src/**/*.rs", "build.rs", ".cargo/config.toml"),
    generated=("target",),
    # The crate serves every root id with the one root context it registers.
    validate_root_id=False,
    advise=advise,
)
