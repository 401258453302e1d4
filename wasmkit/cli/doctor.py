"""``wasmkit doctor``: which toolchains, Envoy and container engine this machine has."""

from __future__ import annotations

import click


@click.command()
@click.option("--envoy", "envoy_path", envvar="WASMKIT_ENVOY", help="Envoy binary to check.")
@click.option("--no-engine", is_flag=True, help="Do not probe for a container engine.")
def doctor(envoy_path: str | None, no_engine: bool) -> None:
    """Report each language's tools (present, or the exact command to install them),
    the Envoy wasmkit tests with, and whether a container engine answers.

    Exit 0: the report was made (read it); missing tools are not an error here.
    """
    from wasmkit.tasks.doctor import diagnose

    report = diagnose(envoy=envoy_path, engine=not no_engine)
    for lang in report.languages:
        state = "ready" if lang.ready else "missing tools"
        click.echo(f"{lang.name} ({lang.display_name}): {state}")
        for status in lang.tools:
            mark = "ok     " if status.present else "MISSING"
            detail = status.version or status.path or status.tool.purpose
            click.echo(f"  {mark} {status.tool.label}: {detail}")
        for command in lang.install_commands:
            click.echo(f"  install: {command}")
    for part in report.components:
        mark = "ok     " if part.present else "MISSING"
        click.echo(f"{part.name}: {mark} {part.detail}")
        if part.fix and not part.present:
            click.echo(f"  fix: {part.fix}")
