"""``wasmkit build``: compile a project, or adopt a module built elsewhere (--precompiled)."""

from __future__ import annotations

from pathlib import Path

import click

from wasmkit.cli._app import output
from wasmkit.errors import UsageError


@click.command()
@click.argument(
    "project", required=False, default=".", type=click.Path(path_type=Path, file_okay=False)
)
@click.option("-t", "--tag", help="Also store the module as an image NAME:TAG in the local store.")
@click.option(
    "--runner",
    type=click.Choice(["auto", "local", "container"]),
    help="Where the toolchain runs [wasmkit.yaml build.runner, else auto: container when an "
    "engine answers, else local].",
)
@click.option("--release/--debug", "release", default=None, help="Optimised or debug build.")
@click.option("--force", is_flag=True, help="Build even if no input changed.")
@click.option("-v", "--verbose", "verbose", is_flag=True, help="Stream the tools' output.")
@click.option(
    "--precompiled",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Adopt this .wasm instead of compiling (needs --root-id and --abi).",
)
@click.option("--root-id", help="With --precompiled: the root id the module registers.")
@click.option("--abi", help="With --precompiled: the ABI it exports (0.1.0, 0.2.0, 0.2.1).")
@click.option("--platform", help="With --precompiled: istio|envoy (default envoy).")
@click.option("--platform-version", help="With --precompiled: the platform version.")
@click.option(
    "--root-check",
    type=click.Choice(["emulator", "envoy", "none"]),
    default="emulator",
    show_default=True,
    help="How to check that the module registers its root id: start it in wasmkit's "
    "in-process host, or in Envoy's validate mode.",
)
@click.option("--envoy", "envoy_path", envvar="WASMKIT_ENVOY", help="Envoy for the root id check.")
@click.pass_context
def build(
    ctx: click.Context,
    project: Path,
    tag: str | None,
    runner: str | None,
    release: bool | None,
    force: bool,
    verbose: bool,
    precompiled: Path | None,
    root_id: str | None,
    abi: str | None,
    platform: str | None,
    platform_version: str | None,
    root_check: str,
    envoy_path: str | None,
) -> None:
    """Build PROJECT (default: .) into build/filter.wasm and build/runtime-config.json,
    then check the module: ABI the platform speaks, imports Envoy provides, root id.

    \b
    Exit codes: 0 built, 2 bad project / compile error / module Envoy would refuse,
                3 toolchain or container engine missing.
    """
    out = output(ctx)
    stream = verbose or out.verbose > 0

    def show(line: str) -> None:
        click.echo(line, err=True)

    def progress(line: str) -> None:
        # A builder image's first build prints hundreds of apt lines: its steps suffice
        # unless -v asks for everything.
        if stream or line.startswith(("building ", "built ", "STEP ")):
            show(line)

    if precompiled is not None:
        from wasmkit.build.precompiled import import_precompiled

        result = import_precompiled(
            precompiled,
            root_id=root_id,
            abi=abi,
            out_dir=project / "build",
            platform=platform,
            platform_version=platform_version,
            tag=tag,
            envoy=envoy_path,
            root_check=root_check,
        )
    else:
        if root_id or abi:
            raise UsageError(
                "--root-id and --abi go with --precompiled",
                hint="a project's root id is `rootId` in wasmkit.yaml",
            )
        from wasmkit.build.core import BuildOptions, build_project

        options = BuildOptions(
            runner=runner,
            release=release,
            tag=tag,
            force=force,
            envoy=envoy_path,
            root_check=root_check,
            on_output=show if stream else None,
            on_progress=progress if not out.quiet else None,
        )
        result = build_project(project, options)
    info = result.info
    state = "up to date" if result.skipped else f"built in {result.duration_s:.1f} s"
    out.info(
        f"{state}: {result.module} ({info.size / 1024:.1f} KiB, ABI "
        f"{', '.join(v.value for v in info.abi_versions)}, sha256 {info.sha256[:12]}) "
        f"for {result.platform.label}, runner {result.runner}"
    )
    for note in result.notes:
        out.info(f"  {note}")
    click.echo(str(result.module))
