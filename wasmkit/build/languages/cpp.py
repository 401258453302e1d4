"""C++: clang 19 + wasi-libc, with the header-only SDK that ships in the scaffold (sdk/).

Flags from experience (docs/toolchains.md): ``-mexec-model=reactor`` (Envoy calls
``_initialize``; ``--no-entry`` alone fails on ``main``), no exceptions (the wasm32
libc++abi has none), ``--strip-all``. The SDK traps in ``__libcpp_verbose_abort`` and
``abort_message`` so libc++ does not drag in fd_write/fd_seek/fd_close.
"""

from __future__ import annotations

from wasmkit.abi import AbiVersion
from wasmkit.build.language import BuildContext, Language, Tool
from wasmkit.build.runner import Step

CLANG = "clang++-19"
APT = (
    "apt-get install -y --no-install-recommends clang-19 lld-19 libc++-19-dev-wasm32 "
    "libc++abi-19-dev-wasm32 libclang-rt-19-dev-wasm32 wasi-libc"
)


def compile_argv(ctx: BuildContext, *, output: str = "{out}/filter.wasm") -> tuple[str, ...]:
    """The bare compiler command (also what the scaffold's Makefile runs)."""
    mode = ("-O2", "-Wl,--strip-all") if ctx.release else ("-O0", "-g")
    abi = ("-DPROXY_WASM_ABI_0_1_0",) if ctx.abi is AbiVersion.V0_1_0 else ()
    return (
        CLANG,
        "--target=wasm32-wasi",
        "-mexec-model=reactor",
        "-std=c++17",
        "-fno-exceptions",
        *mode,
        *abi,
        "-Wall",
        "-I{src}/sdk",
        "-Wl,--export=malloc",
        "-Wl,--export=free",
        "-o",
        output,
        "{src}/filter.cc",
        *ctx.extra_args,
    )


def _steps(ctx: BuildContext) -> tuple[Step, ...]:
    return (Step(compile_argv(ctx), description=f"compile filter.cc with {CLANG}"),)


LANGUAGE = Language(
    name="cpp",
    display_name="C++ (clang + wasi-libc)",
    tools=(
        Tool(CLANG, install=APT, purpose="C++ compiler with the wasm32 target"),
        Tool("wasm-ld-19", install=APT, purpose="WebAssembly linker", version_args=("--version",)),
        Tool(
            None,
            install=APT,
            purpose="C library for wasm32-wasi",
            files=("/usr/lib/wasm32-wasi/libc.a",),
        ),
        Tool(
            None,
            install=APT,
            purpose="libc++ for wasm32",
            files=("/usr/lib/wasm32-wasi/libc++.a",),
        ),
    ),
    abis=(AbiVersion.V0_2_1, AbiVersion.V0_1_0),
    steps=_steps,
    artifact=lambda ctx: "{out}/filter.wasm",
    image="wasmkit-builder-cpp",
    sources=("*.cc", "*.cpp", "*.h", "*.hpp", "sdk/**/*"),
    validate_root_id=True,
)
