"""Fixtures for the OCI tests: an isolated wasmkit home, real registries, the CLI in process."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import compile_wat
from tests.integration.oci.servers import (
    Registry,
    TestCA,
    TokenServer,
    htpasswd_block,
    make_ca,
    run_registry,
)
from wasmkit.oci import LocalStore

USERS = {"alice": "wonderland"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """WASMKIT_HOME and DOCKER_CONFIG in tmp: no credential of the machine leaks in."""
    monkeypatch.setenv("WASMKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> LocalStore:
    return LocalStore(home)


@pytest.fixture
def module(tmp_path: Path) -> Path:
    return compile_wat("add_header", tmp_path)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with run_registry(tmp_path / "registry") as r:
        yield r


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def tls_registry(tmp_path: Path, test_ca: TestCA) -> Iterator[Registry]:
    """TLS with the test CA, htpasswd (bcrypt) with alice:wonderland."""
    directory = tmp_path / "tls-registry"
    directory.mkdir()
    with run_registry(directory, auth=htpasswd_block(directory, USERS), tls=test_ca) as r:
        yield r


@pytest.fixture
def token_registry(tmp_path: Path) -> Iterator[tuple[Registry, TokenServer]]:
    """Token auth: alice may pull and push everywhere, bob may pull, anyone pulls public/*."""
    directory = tmp_path / "token"
    directory.mkdir()
    server = TokenServer(
        directory, {"alice": ("wonderland", ["pull", "push"]), "bob": ("builder", ["pull"])}
    )
    with server.serve(), run_registry(directory / "registry", auth=server.registry_auth()) as r:
        yield r, server


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def wasmkit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, home: Path
) -> Callable[..., Result]:
    """Run the CLI in this process: ``wasmkit("pull", ref, stdin="...")``."""
    from wasmkit.cli._app import run_cli
    from wasmkit.cli.main import cli

    def run(*args: str, stdin: str | None = None) -> Result:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = run_cli(cli, list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def registry_flags(registry: Registry) -> list[str]:
    if registry.options.plain_http:
        return ["--plain-http"]
    assert registry.options.ca_file is not None
    return ["--ca-file", str(registry.options.ca_file)]
