"""The OCI commands' own logic: progress only on a terminal, input errors before any network."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from wasmkit.cli import oci as cli_oci
from wasmkit.cli._app import Output, run_cli
from wasmkit.cli.main import cli


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bars_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert cli_oci._bars(Output()) is None
    monkeypatch.setattr(sys, "stderr", _Tty())
    assert cli_oci._bars(Output(quiet=True)) is None
    bars = cli_oci._bars(Output())
    assert bars is not None
    shown = bars._progress  # what rich draws: its tasks, their totals and progress
    try:
        small = bars.task("config", 100)  # small blobs get no bar
        assert shown.tasks == []
        big = bars.task("layer", 8 * 1024 * 1024)
        big.advance(4 * 1024 * 1024)
        [task] = shown.tasks
        assert (task.description, task.total, task.completed) == (
            "layer",
            8 * 1024 * 1024,
            4 * 1024 * 1024,
        )
        big.close()
        small.close()
        assert shown.tasks == []  # a finished blob's bar goes away
    finally:
        bars.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WASMKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return tmp_path / "home"


def test_login_needs_a_password_source(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert run_cli(cli, ["login", "localhost:5000", "-u", "alice"]) == 2
    assert "--password-stdin" in capsys.readouterr().err
    assert run_cli(cli, ["login", "localhost:5000", "--password-stdin"]) == 2
    assert "needs --username" in capsys.readouterr().err
    assert run_cli(cli, ["login", "not a host", "-u", "a", "--password-stdin"]) == 2
    assert not (home / "credentials.json").exists()


def test_local_commands_on_an_empty_store(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(cli, ["images", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert run_cli(cli, ["rm", "localhost:5000/f:v1"]) == 2
    assert "no image localhost:5000/f:v1" in capsys.readouterr().err
    assert run_cli(cli, ["inspect", "localhost:5000/f:v1"]) == 2
    assert run_cli(cli, ["tag", "localhost:5000/f:v1", "x/y:v1"]) == 2
    assert run_cli(cli, ["logout", "localhost:5000"]) == 0
    assert "not logged in" in capsys.readouterr().out


def test_push_of_a_module_that_is_not_wasm(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "filter.wat"
    text.write_text("(module)")
    assert run_cli(cli, ["push", "localhost:5000/f:v1", "--module", str(text), "--plain-http"]) == 2
    assert "not a WebAssembly module" in capsys.readouterr().err
    assert run_cli(cli, ["push", "localhost:5000/f:v1", "--root-id", "x", "--plain-http"]) == 2
    assert "--root-id goes with --module" in capsys.readouterr().err
