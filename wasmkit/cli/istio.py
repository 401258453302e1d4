"""``wasmkit istio``: Istio's own binaries on this machine (install, check objects)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from wasmkit.cli._app import output
from wasmkit.errors import EXIT_TEST_FAILED


@click.group()
def istio() -> None:
    """Istio releases for `wasmkit test --istio`: istiod, the agent, Istio's validation."""


@istio.command("install")
@click.argument("version")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path, file_okay=False),
    help="Install here instead of the cache (~/.cache/wasmkit/istio/VERSION).",
)
@click.pass_context
def install(ctx: click.Context, version: str, directory: Path | None) -> None:
    """Build Istio VERSION's istiod, agent and wasmkit's istio-check from the Go module proxy.

    Needs Go 1.25+; about 10 minutes and 2 GB of Go build cache the first time. What is
    already built is kept (an up-to-date release is a file check).
    """
    from wasmkit.istio import install_istio

    out = output(ctx)
    release = install_istio(version, into=directory, on_step=out.info)
    click.echo(f"Istio {release.version} ready in {release.istiod.parent}")


@istio.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--istio", "version", default="1.29", show_default=True, help="Istio release.")
@click.option("--json", "as_json", is_flag=True, help="Print istio-check's verdicts as JSON.")
@click.pass_context
def check(ctx: click.Context, files: tuple[Path, ...], version: str, as_json: bool) -> None:
    """Validate Istio YAML with that release's own admission webhook, offline.

    Exits 0 when every object is valid (warnings are printed), 1 when one is not.
    """
    from wasmkit.istio import check_files

    result = check_files(version, list(files))
    if as_json:
        click.echo(json.dumps(result.as_json(), indent=2))
    else:
        for verdict in result.objects:
            state = "valid" if verdict.valid else "INVALID"
            if not verdict.checked:
                state = "not an Istio object"
            click.echo(f"{verdict.label}: {state}")
            for error in verdict.errors:
                click.echo(f"  error: {error}")
            for warning in verdict.warnings:
                click.echo(f"  warning: {warning}")
    if not result.valid:
        ctx.exit(EXIT_TEST_FAILED)
