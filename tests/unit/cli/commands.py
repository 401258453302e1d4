"""Every command path of the ``wasmkit`` group (groups walked), for the CLI's doc tests."""

from __future__ import annotations

import click

from wasmkit.cli.main import cli


def command_paths() -> list[tuple[str, ...]]:
    """``()`` for the group itself, then ``("build",)``, ``("operator", "install")`` ..."""
    paths: list[tuple[str, ...]] = [()]
    ctx = click.Context(cli, info_name="wasmkit")

    def walk(group: click.Group, prefix: tuple[str, ...]) -> None:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None, name
            paths.append((*prefix, name))
            if isinstance(command, click.Group):
                walk(command, (*prefix, name))

    walk(cli, ())
    return paths


def resolve(path: tuple[str, ...]) -> click.Command | None:
    """The command at ``path``, or None when a word of it is not a command."""
    ctx = click.Context(cli, info_name="wasmkit")
    command: click.Command = cli
    for word in path:
        if not isinstance(command, click.Group):
            return None
        found = command.get_command(ctx, word)
        if found is None:
            return None
        command = found
    return command
