"""``wasmkit operator install / run`` and ``wasmkit cache serve``: the FilterDeployment operator."""

from __future__ import annotations

import json
from typing import Any

import click
import yaml

from wasmkit.cli._app import output


@click.group()
def operator() -> None:
    """The FilterDeployment (wasme.io/v1) operator: install it, or run it here."""


def _install_options(namespace: str, operator_image: str, cache_image: str, port: int) -> Any:
    from wasmkit.operator.install import InstallOptions

    return InstallOptions(
        namespace=namespace, operator_image=operator_image, cache_image=cache_image, cache_port=port
    )


def _render(objects: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2)
    return yaml.safe_dump_all(objects, sort_keys=False)


@operator.command()
@click.option("--dry-run", is_flag=True, help="Print the objects instead of applying them.")
@click.option(
    "-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True
)
@click.option("--namespace", default="wasmkit-system", show_default=True)
@click.option("--operator-image", default="ghcr.io/wasmkit/wasmkit:0.1.0", show_default=True)
@click.option("--cache-image", default="ghcr.io/wasmkit/wasmkit:0.1.0", show_default=True)
@click.option("--cache-port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Default: $KUBECONFIG.")
def install(
    dry_run: bool,
    fmt: str,
    namespace: str,
    operator_image: str,
    cache_image: str,
    cache_port: int,
    kubeconfig: str | None,
) -> None:
    """Install the CRD, RBAC, the operator Deployment and the node cache DaemonSet."""
    from wasmkit.operator.install import install as do_install

    options = _install_options(namespace, operator_image, cache_image, cache_port)
    objects = do_install(options, dry_run=dry_run, kubeconfig=kubeconfig)
    if dry_run:
        click.echo(_render(objects, fmt), nl=False)
        return
    out = output()
    for obj in objects:
        out.info(f"applied {obj['kind']}/{obj['metadata']['name']}")
