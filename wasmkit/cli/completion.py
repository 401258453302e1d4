"""``wasmkit completion SHELL``: print the shell completion script."""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class


@click.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the completion script for SHELL.

    \b
    bash: eval "$(wasmkit completion bash)"   (e.g. in ~/.bashrc)
    zsh:  eval "$(wasmkit completion zsh)"
    fish: wasmkit completion fish > ~/.config/fish/completions/wasmkit.fish
    """
    from wasmkit.cli.main import cli

    cls = get_completion_class(shell)
    assert cls is not None
    click.echo(cls(cli, {}, "wasmkit", "_WASMKIT_COMPLETE").source())
