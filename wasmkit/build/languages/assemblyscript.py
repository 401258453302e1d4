"""AssemblyScript: ``@solo-io/proxy-runtime`` 0.1.8 with ``assemblyscript`` 0.17.14 (the
newest it works with). Both are pinned in the scaffold's package.json and installed into
the project (``node_modules``) with npm's cache under ``{cache}/npm``.

``--use abort=abort_proc_exit`` keeps ``env.abort`` (which Envoy does not provide) out of
the module. The runtime exports ABI 0.2.0 only, so Istio 1.5/1.6 (0.1.0) cannot run it.
"""

from __future__ import annotations

from wasmkit.abi import AbiVersion
from wasmkit.build.language import BuildContext, Language, Tool
from wasmkit.build.runner import Step

NODE_INSTALL = "apt-get install -y --no-install-recommends nodejs npm"


def compile_argv(ctx: BuildContext, *, output: str = "{out}/filter.wasm") -> tuple[str, ...]:
    """The bare compiler command (what ``npm run asbuild`` runs in the scaffold)."""
    mode = ("-O3",) if ctx.release else ("--debug",)
    return (
        "node",
        "{src}/node_modules/assemblyscript/bin/asc",
        "{src}/assembly/index.ts",
        "-b",
        output,
        "--use",
        "abort=abort_proc_exit",
        *mode,
        *ctx.extra_args,
    )


def install_argv() -> tuple[str, ...]:
    return (
        "npm",
        "install",
        "--cache",
        "{cache}/npm",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    )


def _steps(ctx: BuildContext) -> tuple[Step, ...]:
    return (
        Step(install_argv(), description="npm install (cached)", network=True),
        Step(compile_argv(ctx), description="compile assembly/index.ts with asc"),
    )


LANGUAGE = Language(
    name="assemblyscript",
    display_name="AssemblyScript (@solo-io/proxy-runtime)",
    tools=(
        Tool("node", install=NODE_INSTALL, purpose="runs the AssemblyScript compiler"),
        Tool("npm", install=NODE_INSTALL, purpose="installs the SDK and compiler into the project"),
    ),
    abis=(AbiVersion.V0_2_0,),
    steps=_steps,
    artifact=lambda ctx: "{out}/filter.wasm",
    image="wasmkit-builder-assemblyscript",
    sources=("assembly/**/*.ts", "package.json", "package-lock.json", "asconfig.json"),
    generated=("node_modules",),
    validate_root_id=True,
)
