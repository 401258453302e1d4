"""The ``wasmkit`` group. Commands load lazily so that ``wasmkit --help`` stays fast.

To add a command group, add one line to ``COMMANDS``: name -> "module:attribute".
"""

from __future__ import annotations

import gc
import importlib
import sys

import click

from wasmkit import __version__
from wasmkit.cli._app import VERBOSITY, Output, configure_logging, run_cli

COMMANDS: dict[str, str] = {
    "init": "wasmkit.cli.init:init",
    "build": "wasmkit.cli.build:build",
    "platforms": "wasmkit.cli.platforms:platforms",
    "doctor": "wasmkit.cli.doctor:doctor",
    "test": "wasmkit.cli.test:test",
    "run": "wasmkit.cli.test:run",
    "completion": "wasmkit.cli.completion:completion",
    "push": "wasmkit.cli.oci:push",
    "pull": "wasmkit.cli.oci:pull",
    "tag": "wasmkit.cli.oci:tag",
    "images": "wasmkit.cli.oci:images",
    "rm": "wasmkit.cli.oci:rm",
    "inspect": "wasmkit.cli.oci:inspect",
    "login": "wasmkit.cli.oci:login",
    "logout": "wasmkit.cli.oci:logout",
    "operator": "wasmkit.cli.operator:operator",
    "istio": "wasmkit.cli.istio:istio",
    "deploy": "wasmkit.cli.deploy:deploy",
    "undeploy": "wasmkit.cli.deploy:undeploy",
    "cache": "wasmkit.cli.operator:cache",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attr = target.partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="wasmkit")
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug logs).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final result.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Scaffold, build, test, push and deploy proxy-wasm filters for Envoy and Istio.

    \b
    Exit codes: 0 ok, 1 test failures, 2 usage or input errors,
                3 environment problems (no Envoy, registry unreachable, missing toolchain).
    """
    configure_logging(verbose, quiet)
    VERBOSITY.set(verbose)
    ctx.obj = Output(verbose=verbose, quiet=quiet)


def main() -> None:
    code = run_cli(cli)
    # Python's shutdown runs the cyclic collector over every object of the run (pydantic's
    # schemas, click's commands, the modules' dicts): 30-80 ms of each `wasmkit test`. The
    # objects alive now stay until the process is gone anyway; frozen, the collector skips
    # them. Files are closed by their owners and atexit handlers still run.
    gc.freeze()
    sys.exit(code)
