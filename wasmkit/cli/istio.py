"""``wasmkit istio``: Istio's own binaries on this machine (install, check objects)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from wasmkit.cli._app import output
from wasmkit.cli.oci import _options, _registry_options
from wasmkit.errors import EXIT_TEST_FAILED

if TYPE_CHECKING:
    from wasmkit.istio.install import Source


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
@click.option(
    "--from-image",
    "source",
    flag_value="image",
    help="Only take istiod and the agent from the images (no Go build, no istio-check).",
)
@click.option(
    "--from-source",
    "source",
    flag_value="build",
    help="Only build from the Go module proxy (do not ask a registry).",
)
@click.option(
    "--pilot-image",
    metavar="REF",
    help="The image holding usr/local/bin/pilot-discovery (default docker.io/istio/pilot:VERSION).",
)
@click.option(
    "--proxy-image",
    metavar="REF",
    help="The image holding usr/local/bin/pilot-agent (default docker.io/istio/proxyv2:VERSION).",
)
@_registry_options
@click.pass_context
def install(
    ctx: click.Context,
    version: str,
    directory: Path | None,
    source: str | None,
    pilot_image: str | None,
    proxy_image: str | None,
    plain_http: bool,
    ca_file: Path | None,
    insecure: bool,
    timeout: float,
) -> None:
    """Obtain Istio VERSION's istiod and agent, and build wasmkit's istio-check.

    istiod and the agent come from Istio's published images (linux/amd64, every digest
    verified) when their registry answers, else they are built from the Go module proxy
    (Go 1.25+, about 10 minutes and 2 GB of Go build cache the first time); istio-check and
    Istio's CRDs are always built. What is already there is kept (an up-to-date release is a
    file check).

    \b
    wasmkit istio install 1.29
    wasmkit istio install 1.29.1 --from-image --pilot-image localhost:5000/istio/pilot:1.29.1 \\
        --plain-http
    """
    from wasmkit.tasks.istio import IstioImages, install_release

    out = output(ctx)
    images = IstioImages(pilot_image, proxy_image, _options(plain_http, ca_file, insecure, timeout))
    release = install_release(
        version,
        into=directory,
        on_step=out.info,
        source=cast("Source", source or "auto"),
        images=images,
    )
    click.echo(f"Istio {release.version} ready in {release.istiod.parent}")
    for origin in release.obtained:
        click.echo(f"  from {origin}")


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
