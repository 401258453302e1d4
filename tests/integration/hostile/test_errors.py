"""Finding 9 of the hostile-input probe: errors name their cause and never quote a secret.

TLS failures against a registry of the test's own (a CA the client does not know, a
certificate for another host, an expired one, plain HTTP where TLS was expected) each say what
is wrong and suggest ``--ca-file`` before ``--insecure``. A credential helper that prints its
secret and then fails must not have that output quoted.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.hostile import HostileServer, Reply, Request
from tests.integration.oci.servers import TestCA, make_ca, openssl

pytestmark = pytest.mark.registry


def _ok(request: Request) -> Reply:
    return Reply(200, b"{}")


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def expired(ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A certificate for 127.0.0.1 from the same CA that expired in 2020."""
    directory = tmp_path_factory.mktemp("expired")
    (directory / "index.txt").write_text("")
    (directory / "serial").write_text("1000\n")
    (directory / "ca.cnf").write_text(
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\n"
        f"certificate = {ca.ca}\nprivate_key = {ca.ca.with_name('ca.key')}\nserial = serial\n"
        "default_md = sha256\npolicy = p\ncopy_extensions = copy\n[p]\ncommonName = supplied\n"
    )
    openssl(
        "ca", "-batch", "-config", "ca.cnf", "-in", str(ca.cert.with_name("server.csr")),
        "-out", "expired.crt", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
        "-extfile", str(ca.cert.with_name("ext.cnf")), cwd=directory,
    )  # fmt: skip
    return TestCA(ca.ca, directory / "expired.crt", ca.key)


def _pull(wasmkit: Callable[..., Result], host: str, *flags: str) -> Result:
    return wasmkit("pull", f"{host}/x/y:v1", *flags)


def _says(result: Result, cause: str, first_hint: str) -> None:
    assert result.code == 3, result.err
    assert cause in result.err, result.err
    hint = result.err.split("hint:", 1)[1]
    assert first_hint in hint
    if "--insecure" in hint:
        assert hint.index(first_hint) < hint.index("--insecure")
    assert "1006" not in result.err and "Traceback" not in result.err


def test_a_ca_the_client_does_not_know(ca: TestCA, wasmkit: Callable[..., Result]) -> None:
    with HostileServer(_ok, tls=ca).serve() as registry:
        result = _pull(wasmkit, registry.host)
    _says(result, "not signed by a CA this machine trusts", "--ca-file")


def test_a_certificate_for_another_host(ca: TestCA, wasmkit: Callable[..., Result]) -> None:
    with HostileServer(_ok, tls=ca, address="127.0.0.2").serve() as registry:
        result = _pull(wasmkit, registry.host, "--ca-file", str(ca.ca))
    _says(result, "is not for 127.0.0.2", "a name the certificate lists")


def test_an_expired_certificate(
    ca: TestCA, expired: TestCA, wasmkit: Callable[..., Result]
) -> None:
    with HostileServer(_ok, tls=expired).serve() as registry:
        result = _pull(wasmkit, registry.host, "--ca-file", str(ca.ca))
    _says(result, "expired", "renew")


def test_plain_http_where_tls_was_expected(wasmkit: Callable[..., Result]) -> None:
    with HostileServer(_ok).serve() as registry:
        result = _pull(wasmkit, registry.host)
    _says(result, "does not speak TLS", "--plain-http")


def test_a_ca_file_that_is_not_a_certificate(
    tmp_path: Path, ca: TestCA, wasmkit: Callable[..., Result]
) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate\n")
    with HostileServer(_ok, tls=ca).serve() as registry:
        result = _pull(wasmkit, registry.host, "--ca-file", str(bogus))
    assert result.code == 2 and str(bogus) in result.err and "hint:" in result.err
    assert "Traceback" not in result.err


SECRET = "hunter2-very-secret"


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_a_failing_credential_helper_is_not_quoted(
    tmp_path: Path,
    wasmkit: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    stream: str,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-leaky"
    target = ">&2" if stream == "stderr" else ""
    helper.write_text(
        f'#!/bin/sh\necho \'{{"Username": "alice", "Secret": "{SECRET}"}}\' {target}\nexit 1\n'
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    docker = Path(os.environ["DOCKER_CONFIG"])
    docker.mkdir(parents=True, exist_ok=True)
    (docker / "config.json").write_text(json.dumps({"credsStore": "leaky"}))

    def challenge(request: Request) -> Reply:
        return Reply(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    with HostileServer(challenge).serve() as registry:
        result = wasmkit("-vv", "pull", f"{registry.host}/x/y:v1", "--plain-http")
    assert result.code == 3 and "docker-credential-leaky" in result.err and "hint:" in result.err
    assert SECRET not in result.out + result.err
