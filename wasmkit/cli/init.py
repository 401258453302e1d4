"""``wasmkit init``: scaffold a project; asks for missing choices on a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from wasmkit.cli._app import output
from wasmkit.errors import UsageError


def _ask(label: str, options: list[str] | None, default: str) -> str:
    if options:
        click.echo(f"{label}: {', '.join(options)}", err=True)
        value: str = click.prompt(
            f"  {label}", type=click.Choice(options), default=default, err=True
        )
        return value
    answer: str = click.prompt(f"{label}", default=default, err=True)
    return answer


def _ask_version(platform: str, default: str) -> str:
    from wasmkit.abi import find_platform

    while True:
        answer = _ask(f"{platform} version", None, default)
        try:
            find_platform(platform, answer)
        except UsageError as exc:
            click.echo(f"  {exc.message} ({exc.hint})", err=True)
            continue
        return answer


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--language", "-l", help="cpp | rust | assemblyscript | go")
@click.option("--platform", "-p", help="istio | envoy")
@click.option("--platform-version", help="e.g. 1.28 (see `wasmkit platforms`)")
@click.option("--root-id", help="The root id the filter registers [add_header].")
@click.option("--name", help="Project name [the directory's name].")
@click.option("--force", is_flag=True, help="Write into a non-empty directory.")
@click.pass_context
def init(
    ctx: click.Context,
    directory: Path,
    language: str | None,
    platform: str | None,
    platform_version: str | None,
    root_id: str | None,
    name: str | None,
    force: bool,
) -> None:
    """Create a filter project in DIRECTORY that builds and passes `wasmkit test` at once.

    \b
    wasmkit init my-filter --language cpp --platform istio --platform-version 1.28
    Missing choices are asked for on a terminal; elsewhere they are usage errors (exit 2).
    """
    from wasmkit.scaffold import check_target
    from wasmkit.tasks.init import (
        DEFAULT_LANGUAGE,
        DEFAULT_PLATFORM,
        DEFAULT_ROOT_ID,
        choices,
        default_name,
        default_version,
        init_project,
    )

    check_target(directory, force=force)  # before asking anything
    missing = [
        flag
        for flag, value in (
            ("--language", language),
            ("--platform", platform),
            ("--platform-version", platform_version),
        )
        if value is None
    ]
    if missing:
        if not sys.stdin.isatty():
            raise UsageError(
                f"missing {', '.join(missing)} (no terminal to ask on)",
                hint="wasmkit init DIR --language cpp --platform istio --platform-version 1.28",
            )
        options = choices()
        if language is None:
            language = _ask("language", options["language"], DEFAULT_LANGUAGE)
        if platform is None:
            platform = _ask("platform", options["platform"], DEFAULT_PLATFORM)
        if platform_version is None:
            platform_version = _ask_version(platform, default_version(platform))
        if root_id is None:
            root_id = _ask("root id", None, DEFAULT_ROOT_ID)
        if name is None:
            name = _ask("project name", None, default_name(directory))
    assert language is not None and platform is not None and platform_version is not None
    result = init_project(
        directory,
        language=language,
        platform=platform,
        platform_version=platform_version,
        root_id=DEFAULT_ROOT_ID if root_id is None else root_id,
        name=name,
        force=force,
    )
    out = output(ctx)
    row = result.platform
    shown_root = result.root_id or '""'
    out.info(
        f"created {result.name} in {directory}: {result.language} for {row.label} "
        f"(Envoy {row.envoy}, ABI {result.abi.value}, root id {shown_root}), "
        f"{len(result.files)} files"
    )
    click.echo(f"next: cd {directory} && wasmkit build && wasmkit test")
