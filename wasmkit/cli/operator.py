"""``wasmkit operator install / run`` and ``wasmkit cache serve``: the FilterDeployment operator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from wasmkit.cli._app import output
from wasmkit.operator.install import DEFAULT_CACHE_PORT, DEFAULT_IMAGE, DEFAULT_NAMESPACE


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
    "-o",
    "--output",
    "fmt",
    type=click.Choice(["yaml", "json"]),
    default="yaml",
    show_default=True,
    help="The format of --dry-run's objects.",
)
@click.option(
    "--namespace", default=DEFAULT_NAMESPACE, show_default=True, help="For the operator and caches."
)
@click.option(
    "--operator-image",
    default=DEFAULT_IMAGE,
    show_default=True,
    help="The image the operator Deployment runs.",
)
@click.option(
    "--cache-image",
    default=DEFAULT_IMAGE,
    show_default=True,
    help="The image the node cache DaemonSet runs.",
)
@click.option(
    "--cache-port",
    default=DEFAULT_CACHE_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The port the caches serve GET /<sha256> on.",
)
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


@operator.command()
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), help="Default: $KUBECONFIG."
)
@click.option("--context", help="The kubeconfig context (default: the current one).")
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account (no kubeconfig).")
@click.option(
    "--namespace",
    default=DEFAULT_NAMESPACE,
    show_default=True,
    help="Where the node caches report.",
)
@click.option(
    "--istio-version",
    help="The mesh's Istio release for every resource (default: the running istiod's, found in "
    "each resource's deployment.istio.istioNamespace).",
)
@click.option(
    "--cache-port", default=DEFAULT_CACHE_PORT, show_default=True, type=click.IntRange(1, 65535)
)
@click.option(
    "--resync",
    default=60.0,
    show_default=True,
    help="Seconds between full passes (re-resolves tags).",
)
def run(
    kubeconfig: Path | None,
    context: str | None,
    in_cluster: bool,
    namespace: str,
    istio_version: str | None,
    cache_port: int,
    resync: float,
) -> None:
    """Run the operator here, against the current kubeconfig's cluster, until interrupted."""
    from wasmkit.deploy import CacheService
    from wasmkit.operator.reconcile import OperatorConfig
    from wasmkit.operator.run import OperatorRun, run_operator

    config = OperatorConfig(
        namespace=namespace,
        istio_version=istio_version or "",
        cache_service=CacheService(namespace=namespace, port=cache_port),
        resync=resync,
    )
    run_operator(OperatorRun(config, None if in_cluster else kubeconfig, context))


@click.group()
def cache() -> None:
    """The node cache the operator's FilterDeployments are delivered from."""


@cache.command()
@click.option("--node", required=True, help="The node this cache runs on (its Lease's holder).")
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Module files, named by sha256 (mounted into sidecars).",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="The cache's image store.",
)
@click.option(
    "--listen",
    default=f"127.0.0.1:{DEFAULT_CACHE_PORT}",
    show_default=True,
    help="HOST:PORT to serve GET /<sha256> on.",
)
@click.option(
    "--namespace", default=DEFAULT_NAMESPACE, show_default=True, help="Where the Lease is written."
)
@click.option("--interval", default=2.0, show_default=True, help="Seconds between syncs.")
@click.option(
    "--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), help="Default: $KUBECONFIG."
)
@click.option("--context", help="The kubeconfig context (default: the current one).")
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account (no kubeconfig).")
def serve(
    node: str,
    directory: Path,
    state_dir: Path,
    listen: str,
    namespace: str,
    interval: float,
    kubeconfig: Path | None,
    context: str | None,
    in_cluster: bool,
) -> None:
    """Pull the images FilterDeployments name, serve them by sha256, report them in a Lease."""
    from wasmkit.errors import UsageError
    from wasmkit.operator.run import CacheRun, serve_cache

    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(
            f"--listen {listen!r} is not HOST:PORT", hint="e.g. --listen 127.0.0.1:8080"
        )
    serve_cache(
        CacheRun(
            node=node,
            directory=directory,
            state_dir=state_dir,
            namespace=namespace,
            host=host,
            port=int(port),
            interval=interval,
            kubeconfig=None if in_cluster else kubeconfig,
            context=context,
        )
    )
