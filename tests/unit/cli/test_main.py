"""The command's shell: version, completion, help, exit codes of the group itself."""

from __future__ import annotations

import click
import pytest

from wasmkit import __version__
from wasmkit.cli._app import VERBOSITY, render_error, run_cli
from wasmkit.cli.main import COMMANDS, cli
from wasmkit.errors import ProcessFailed, ToolNotFound


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(cli, ["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"wasmkit, version {__version__}"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(cli, ["completion", shell]) == 0
    assert "_WASMKIT_COMPLETE" in capsys.readouterr().out


def test_every_registered_command_loads_and_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert run_cli(cli, [name, "--help"]) == 0, name
        assert f"Usage: wasmkit {name}" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(cli, ["tset"]) == 2
    assert "No such command 'tset'" in capsys.readouterr().err


def test_errors_render_message_details_and_hint() -> None:
    text = render_error(ToolNotFound("no clang", hint="apt-get install clang-19"))
    assert text == "error: no clang\nhint: apt-get install clang-19"
    failed = ProcessFailed("step failed", command=["cc", "x.c"], returncode=1, output="x.c:1: oops")
    assert render_error(failed, verbose=1).splitlines() == [
        "error: step failed",
        "command: cc x.c",
        "x.c:1: oops",
    ]
    long = ProcessFailed(
        "f", command=["x"], returncode=1, output="\n".join(str(i) for i in range(100))
    )
    shown = render_error(long).splitlines()
    assert shown[1] == "..." and shown[-1] == "99" and len(shown) < 50


@click.command("boom")
def _boom() -> None:
    raise ProcessFailed("step failed", command=["cc", "x.c"], returncode=1, output="oops")


@pytest.mark.parametrize(("flags", "shown"), [([], False), (["-v"], True)])
def test_dash_v_reaches_the_error_renderer(
    flags: list[str],
    shown: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(COMMANDS, "boom", f"{__name__}:_boom")
    assert run_cli(cli, [*flags, "boom"]) == 3
    assert ("command: cc x.c" in capsys.readouterr().err) is shown
    assert VERBOSITY.get() == 0  # reset for the next command in the same process
