"""wasmkit init without a terminal: flags only (the terminal path is tested through a pty)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from wasmkit.cli._app import run_cli
from wasmkit.cli.main import cli


def test_missing_flags_without_a_terminal_are_usage_errors(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = run_cli(cli, ["init", str(tmp_path / "p"), "--language", "cpp"])
    assert code == 2
    err = capsys.readouterr().err
    assert "missing --platform, --platform-version" in err and "hint:" in err
    assert not (tmp_path / "p").exists()


def test_flags_make_a_project(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "init",
            str(tmp_path / "p"),
            "-l",
            "cpp",
            "-p",
            "istio",
            "--platform-version",
            "1.5.3",
            "--root-id",
            "my_root",
            "--name",
            "my-filter",
        ],
    )
    assert result.exit_code == 0, result.output
    yaml_text = (tmp_path / "p" / "wasmkit.yaml").read_text()
    assert "name: my-filter" in yaml_text and "rootId: my_root" in yaml_text
    assert 'version: "1.5"' in yaml_text
    assert "PROXY_WASM_ABI_0_1_0" in (tmp_path / "p" / "Makefile").read_text()


def test_non_empty_directory_is_refused(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "x.txt").write_text("x")
    args = ["init", str(tmp_path), "-l", "cpp", "-p", "envoy", "--platform-version", "1.40"]
    assert run_cli(cli, args) == 2
    assert "is not empty" in capsys.readouterr().err
    assert run_cli(cli, [*args, "--force"]) == 0
    assert (tmp_path / "filter.cc").is_file() and (tmp_path / "x.txt").is_file()


def test_unknown_language_and_version(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    base = ["init", str(tmp_path / "p"), "-p", "istio"]
    assert run_cli(cli, [*base, "-l", "cobol", "--platform-version", "1.28"]) == 2
    assert "unknown language 'cobol'" in capsys.readouterr().err
    assert run_cli(cli, [*base, "-l", "cpp", "--platform-version", "1.2"]) == 2
    assert "istio 1.2 cannot run Wasm filters" in capsys.readouterr().err
    assert run_cli(cli, [*base, "-l", "assemblyscript", "--platform-version", "1.6"]) == 2
    assert "accepts only 0.1.0" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


def test_platforms_table_lists_old_and_current_istio(capsys) -> None:  # type: ignore[no-untyped-def]
    assert run_cli(cli, ["platforms", "--platform", "istio"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[1]: line for line in out.splitlines()[1:]}
    assert "0.1.0" in lines["1.5"] and "v2-config" in lines["1.5"] and lines["1.5"].endswith("no")
    assert "1.39" in lines["1.31"] and lines["1.31"].endswith("yes")


def test_an_empty_root_id_is_honoured(tmp_path: Path) -> None:
    """Every official SDK example registers with root id "": init writes it, the project
    loads with it, and the test inputs keep it (not the add_header default)."""
    from wasmkit.project import load_project
    from wasmkit.tasks.test import resolve_inputs

    args = ["init", str(tmp_path / "p"), "-l", "cpp", "-p", "envoy", "--platform-version", "1.40"]
    result = CliRunner().invoke(cli, [*args, "--root-id", ""])
    assert result.exit_code == 0, result.output
    assert 'rootId: ""\n' in (tmp_path / "p" / "wasmkit.yaml").read_text()
    assert load_project(tmp_path / "p").project.root_id == ""
    assert resolve_inputs(project_dir=tmp_path / "p").root_id == ""
    source = (tmp_path / "p" / "filter.cc").read_text()
    assert 'ROOT_FACTORY(AddHeaderRoot), "");' in source
