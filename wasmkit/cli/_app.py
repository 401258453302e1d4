"""Shared CLI plumbing: the output settings, error rendering, exit codes."""

from __future__ import annotations

import logging
import signal
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import click

from wasmkit._text import printable
from wasmkit.errors import EXIT_INTERRUPTED, ProcessFailed, UsageError, WasmkitError

#: ``-v`` count of the running command. The group sets it; the error renderer reads it after
#: click has torn its context down (the ``command:`` line of a failed process shows with -v).
VERBOSITY: ContextVar[int] = ContextVar("wasmkit_verbosity", default=0)


@dataclass
class Output:
    verbose: int = 0
    quiet: bool = False

    @property
    def color(self) -> bool:
        return sys.stdout.isatty()

    def info(self, message: str) -> None:
        if not self.quiet:
            click.echo(printable(message), err=True)


def output(ctx: click.Context | None = None) -> Output:
    ctx = ctx or click.get_current_context()
    obj = ctx.find_object(Output)
    return obj if obj is not None else Output()


def configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING
    if quiet:
        level = logging.ERROR
    elif verbose == 1:
        level = logging.INFO
    elif verbose >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


class _PrintableFormatter(logging.Formatter):
    """Log lines quote registries and files: escape what a terminal would act on."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def render_error(error: WasmkitError, verbose: int = 0) -> str:
    """The error for a terminal. Message, details and hint quote registries, files and tools'
    output: they are escaped (``printable``) before wasmkit adds its own colors."""
    color = sys.stderr.isatty()
    lines = [click.style("error: ", fg="red", bold=True) if color else "error: "]
    lines[0] += printable(error.message)
    if isinstance(error, ProcessFailed) and verbose:
        lines.append(printable("command: " + " ".join(error.command)))
    if error.details:
        details = error.details.rstrip()
        if not verbose and details.count("\n") > 40:
            details = "\n".join(["...", *details.splitlines()[-40:]])
        lines.append(printable(details))
    if error.hint:
        hint = printable(error.hint)
        lines.append((click.style("hint: ", fg="yellow") if color else "hint: ") + hint)
    return "\n".join(lines)


def run_cli(group: click.Group, args: list[str] | None = None) -> int:
    """Run ``group``; turn wasmkit's errors into messages and exit codes."""
    token = VERBOSITY.set(0)
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        code = group.main(args=args, prog_name="wasmkit", standalone_mode=False)
    except WasmkitError as exc:
        click.echo(render_error(exc, VERBOSITY.get()), err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    finally:
        VERBOSITY.reset(token)
    return code if isinstance(code, int) else 0


def wait_for_stop(alive: Callable[[], bool], run_dir: Path) -> None:
    """Keep a served Envoy running until Ctrl-C or SIGTERM; raise if it dies on its own."""
    click.echo("press Ctrl-C to stop")
    stop = {"now": False}

    def _handler(signum: int, frame: object) -> None:
        stop["now"] = True

    previous = signal.signal(signal.SIGTERM, _handler)
    try:
        while not stop["now"] and alive():
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not alive() and not stop["now"]:
        raise UsageError("Envoy stopped unexpectedly", hint=f"see its log in {run_dir}")
