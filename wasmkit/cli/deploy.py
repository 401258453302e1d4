"""``wasmkit deploy istio|envoy`` and ``wasmkit undeploy istio``: parse, call one, render."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from wasmkit.cli._app import output
from wasmkit.cli.oci import _options, _registry_options, _store
from wasmkit.errors import UsageError
from wasmkit.filter import FailurePolicy

if TYPE_CHECKING:
    from wasmkit.deploy.apply import DeployResult

_KINDS = ["deployment", "daemonset", "statefulset"]
_CONTEXTS = ["inbound", "outbound", "gateway", "any"]


def _cluster_options(func: Any) -> Any:
    func = click.option("--context", help="The kubeconfig context to use.")(func)
    return click.option(
        "--kubeconfig",
        type=click.Path(path_type=Path, dir_okay=False, exists=True),
        help="The kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster).",
    )(func)


def _print_objects(objects: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2))
    else:
        click.echo(yaml.safe_dump_all(objects, sort_keys=False), nl=False)


def _render(result: DeployResult, fmt: str | None, *, verb: str) -> None:
    out = output()
    for note in result.notes:
        out.info(f"note: {note}")
    if fmt:
        _print_objects([*result.objects, *result.workload_patches], fmt)
        return
    if result.spec is not None and not result.changes:  # rendered without a cluster
        _print_objects(list(result.objects), "yaml")
        return
    suffix = " (dry run)" if result.dry_run else ""
    for change in result.changes:
        click.echo(f"{change}{suffix}")
    if not result.changes:
        click.echo(f"nothing to {verb}")


@click.group()
def deploy() -> None:
    """Deploy a filter image to Istio (EnvoyFilter or WasmPlugin) or a local Envoy."""


@deploy.command("istio")
@click.argument("image")
@click.option("--id", "filter_id", required=True, help="The filter's id: a Kubernetes name.")
@click.option("-n", "--namespace", default="", help="Namespace (default: the context's).")
@click.option("--config", help="Filter configuration: a string, or @FILE (YAML/JSON mapping).")
@click.option("-l", "--labels", multiple=True, help="Pod labels key=value to select workloads.")
@click.option("--workload-kind", type=click.Choice(_KINDS), default="deployment", show_default=True)
@click.option(
    "--patch-context",
    type=click.Choice(_CONTEXTS),
    default="inbound",
    show_default=True,
    help="Which proxy traffic an EnvoyFilter patches.",
)
@click.option(
    "--api",
    type=click.Choice(["auto", "envoyfilter", "wasmplugin"]),
    default="auto",
    show_default=True,
    help="auto: WasmPlugin where Istio has it (1.12+) and the config fits, else EnvoyFilter.",
)
@click.option(
    "--source",
    type=click.Choice(["cache", "http", "oci"]),
    help="Module source: cache (node cache mount) or http (cache Service) for an EnvoyFilter; "
    "oci or http for a WasmPlugin.",
)
@click.option("--istio-version", help="Target Istio (default: the running istiod's).")
@click.option(
    "--failure-policy",
    type=click.Choice([p.value for p in FailurePolicy]),
    default=FailurePolicy.FAIL_CLOSED.value,
    show_default=True,
)
@click.option("--root-id", help="Root id to run (default: the image's only one).")
@click.option("--ignore-version-check", is_flag=True, help="Deploy even if the ABI does not fit.")
@click.option("--phase", type=click.Choice(["AUTHN", "AUTHZ", "STATS"]), help="WasmPlugin phase.")
@click.option("--priority", type=int, help="WasmPlugin priority within its phase.")
@click.option("--image-pull-policy", type=click.Choice(["IfNotPresent", "Always"]))
@click.option("--image-pull-secret", help="WasmPlugin: Secret with the registry credential.")
@click.option(
    "--match-mode",
    type=click.Choice(["CLIENT", "SERVER", "CLIENT_AND_SERVER"]),
    help="WasmPlugin: which traffic direction (with --match-port: which ports).",
)
@click.option("--match-port", type=int, multiple=True, help="WasmPlugin: a port to apply to.")
@click.option("--dry-run", is_flag=True, help="Change nothing; show what would be applied.")
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml", "json"]), help="Print objects.")
@click.option(
    "--output-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one file per object and a kustomization.yaml (nothing is applied).",
)
@_cluster_options
@_registry_options
def deploy_istio(
    image: str,
    filter_id: str,
    namespace: str,
    config: str | None,
    labels: tuple[str, ...],
    workload_kind: str,
    patch_context: str,
    api: str,
    source: str | None,
    istio_version: str | None,
    failure_policy: str,
    root_id: str | None,
    ignore_version_check: bool,
    phase: str | None,
    priority: int | None,
    image_pull_policy: str | None,
    image_pull_secret: str | None,
    match_mode: str | None,
    match_port: tuple[int, ...],
    dry_run: bool,
    fmt: str | None,
    output_dir: Path | None,
    kubeconfig: Path | None,
    context: str | None,
    **registry: Any,
) -> None:
    """Deploy IMAGE to the Istio workloads whose pods have --labels.

    \b
    wasmkit deploy istio registry.example/ceposta/demo-add-header:v0.2 --id myfilter \\
        --namespace bookinfo --config tomorrow --labels app=details
    wasmkit deploy istio IMAGE --id f --istio-version 1.29 --dry-run -o yaml

    Prints what it created, changed and left alone. Exits 2 for bad input (no matching
    workload, an id that is not a Kubernetes name, an ABI the Istio does not speak), 3 when
    the cluster is unreachable, RBAC forbids a step, Istio's CRDs are missing, or a workload
    kept changing while its mount was written.
    """
    from wasmkit import deploy as d
    from wasmkit.deploy.istio import Cluster, deploy_istio

    match: tuple[dict[str, Any], ...] = ()
    if match_mode or match_port:
        entry: dict[str, Any] = {"mode": match_mode} if match_mode else {}
        if match_port:
            entry["ports"] = [{"number": p} for p in match_port]
        match = (entry,)
    request = d.DeployRequest(
        image=image,
        id=filter_id,
        namespace=namespace,
        config=d.parse_config(config),
        labels=d.parse_labels(labels),
        workload_kind=d.WorkloadKind.parse(workload_kind),
        patch_context=d.PatchContext.parse(patch_context),
        api=d.Api(api),
        source=d.ModuleSource(source) if source else None,
        istio_version=istio_version,
        failure_policy=FailurePolicy(failure_policy),
        root_id=root_id,
        ignore_version_check=ignore_version_check,
        plugin=d.WasmPluginOptions(
            phase=d.Phase(phase) if phase else None,
            priority=priority,
            image_pull_policy=d.PullPolicy(image_pull_policy) if image_pull_policy else None,
            image_pull_secret=image_pull_secret,
            match=match,
        ),
    )
    result = deploy_istio(
        request,
        store=_store(),
        registry=_options(**registry),
        cluster=Cluster(kubeconfig, context),
        dry_run=dry_run,
        output_dir=output_dir,
    )
    if output_dir is not None:
        output().info(
            f"wrote {len(result.objects) + len(result.workload_patches)} object(s) "
            f"and kustomization.yaml to {output_dir}"
        )
        if not fmt:
            return
    _render(result, fmt, verb="change")


@deploy.command("envoy")
@click.argument("image")
@click.option("--id", "filter_id", help="The filter's name (default: from the image's name).")
@click.option("--config", help="Filter configuration: a string, or @FILE (YAML/JSON mapping).")
@click.option("--root-id", help="Root id to run (default: the image's only one).")
@click.option(
    "--failure-policy",
    type=click.Choice([p.value for p in FailurePolicy]),
    default=FailurePolicy.FAIL_CLOSED.value,
    show_default=True,
)
@click.option(
    "--bootstrap",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Insert the filter into every HTTP connection manager of this Envoy bootstrap.",
)
@click.option("--port", default=0, show_default=True, help="Listener port (0 picks a free one).")
@click.option(
    "--upstream-port", default=8080, show_default=True, help="Where requests go (no --bootstrap)."
)
@click.option("-o", "--output", "fmt", type=click.Choice(["yaml"]), help="Print the config only.")
@click.option(
    "--envoy", "envoy_path", envvar="WASMKIT_ENVOY", help="Envoy binary [env: WASMKIT_ENVOY]."
)
@_registry_options
def deploy_envoy(
    image: str,
    filter_id: str | None,
    config: str | None,
    root_id: str | None,
    failure_policy: str,
    bootstrap: Path | None,
    port: int,
    upstream_port: int,
    fmt: str | None,
    envoy_path: str | None,
    **registry: Any,
) -> None:
    """Run IMAGE in a local Envoy until Ctrl-C, or print that Envoy's config (-o yaml).

    \b
    wasmkit deploy envoy localhost:5000/filters/add-header:v1 --config tomorrow --port 10000
    wasmkit deploy envoy IMAGE --bootstrap envoy.yaml -o yaml > envoy-with-filter.yaml

    Exits 2 for bad input or a module Envoy refuses (in Envoy's words), 3 without an Envoy.
    """
    from wasmkit import deploy as d
    from wasmkit.cli._app import wait_for_stop
    from wasmkit.deploy.envoy import envoy_config, prepare_local, run_envoy
    from wasmkit.envoy.binary import find_envoy

    for name, value in (("--port", port), ("--upstream-port", upstream_port)):
        if not 0 <= value <= 65535:
            raise UsageError(f"{name} {value} is not a port number")
    local = prepare_local(
        _store(),
        image,
        registry=_options(**registry),
        filter_id=filter_id,
        root_id=root_id,
        config=d.parse_config(config),
        failure_policy=FailurePolicy(failure_policy),
    )
    if fmt:
        click.echo(
            envoy_config(local, bootstrap=bootstrap, port=port, upstream_port=upstream_port),
            nl=False,
        )
        return
    with run_envoy(
        local,
        bootstrap=bootstrap,
        port=port,
        upstream_port=upstream_port,
        binary=find_envoy(envoy_path),
    ) as running:
        for name, bound in running.ports.items():
            click.echo(f"listener {name}: http://127.0.0.1:{bound}/")
        wait_for_stop(running.envoy.alive, running.run_dir)
    click.echo("stopped")


@click.group()
def undeploy() -> None:
    """Remove a deployed filter."""


@undeploy.command("istio")
@click.option("--id", "filter_id", required=True, help="The filter's id.")
@click.option("-n", "--namespace", default="", help="Namespace (default: the context's).")
@click.option("--dry-run", is_flag=True, help="Change nothing; show what would be removed.")
@_cluster_options
def undeploy_istio(
    filter_id: str, namespace: str, dry_run: bool, kubeconfig: Path | None, context: str | None
) -> None:
    """Remove filter --id from a namespace: its EnvoyFilters or WasmPlugin, and the cache mount
    where no other filter uses it (the workload's annotations come back as they were).

    Exits 3 when the cluster is unreachable or RBAC forbids a step.
    """
    from wasmkit.deploy.istio import Cluster, undeploy_istio

    result = undeploy_istio(
        filter_id, namespace, cluster=Cluster(kubeconfig, context), dry_run=dry_run
    )
    _render(result, None, verb="remove")
