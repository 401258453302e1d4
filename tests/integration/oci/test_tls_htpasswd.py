"""htpasswd (Basic) auth over TLS with a CA made for the test; wasmkit's and Docker's credentials."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.servers import Registry
from wasmkit.oci import AuthError, LocalStore, RegistryOptions, pull, push

pytestmark = pytest.mark.registry


def _add(store: LocalStore, module: Path, ref: str) -> None:
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])


def test_login_push_pull_logout_through_the_cli(
    tls_registry: Registry,
    wasmkit: Callable[..., Result],
    module: Path,
    home: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    ca = str(tls_registry.options.ca_file)
    ref = tls_registry.ref("filters/add-header:v1")
    denied = wasmkit(
        "push", ref, "--module", str(module), "--root-id", "add_header", "--ca-file", ca
    )
    assert denied.code == 2
    assert "requires authentication" in denied.err
    assert f"wasmkit login {tls_registry.host}" in denied.err

    wrong = wasmkit(
        "login",
        tls_registry.host,
        "-u",
        "alice",
        "--password-stdin",
        "--ca-file",
        ca,
        stdin="guess\n",
    )
    assert wrong.code == 2 and "rejected" in wrong.err and "guess" not in wrong.err
    assert not (home / "credentials.json").exists()

    ok = wasmkit(
        "login",
        tls_registry.host,
        "-u",
        "alice",
        "--password-stdin",
        "--ca-file",
        ca,
        stdin="wonderland\n",
    )
    assert ok.code == 0, ok.err
    creds = home / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert "wonderland" not in ok.out + ok.err

    assert wasmkit("-vv", "push", ref, "--ca-file", ca).code == 0
    assert wasmkit("rm", ref).code == 0
    pulled = wasmkit("pull", ref, "--ca-file", ca)
    assert pulled.code == 0, pulled.err

    logged = caplog.text
    assert "token" in logged.lower() or "credential" in logged.lower()  # debug logging was on
    assert "wonderland" not in logged
    assert base64.b64encode(b"alice:wonderland").decode() not in logged

    assert wasmkit("logout", tls_registry.host).out.strip() == f"logged out of {tls_registry.host}"
    assert tls_registry.host not in creds.read_text()
    assert wasmkit("pull", ref, "--ca-file", ca).code == 2


@pytest.mark.filterwarnings("error::urllib3.exceptions.InsecureRequestWarning")
def test_tls_needs_the_ca_or_insecure(
    tls_registry: Registry,
    store: LocalStore,
    module: Path,
    wasmkit: Callable[..., Result],
    caplog: pytest.LogCaptureFixture,
) -> None:
    ref = tls_registry.ref("filters/add-header:v1")
    _add(store, module, ref)
    untrusted = wasmkit(
        "login", tls_registry.host, "-u", "alice", "--password-stdin", stdin="wonderland"
    )
    assert untrusted.code == 3
    assert "TLS" in untrusted.err and "--ca-file" in untrusted.err
    insecure = wasmkit(
        "login",
        tls_registry.host,
        "-u",
        "alice",
        "--password-stdin",
        "--insecure",
        stdin="wonderland",
    )
    assert insecure.code == 0, insecure.err
    assert "not verified (--insecure)" in caplog.text
    push(store, ref, RegistryOptions(insecure=True))


def test_docker_config_auths_and_a_credential_helper(
    tls_registry: Registry,
    store: LocalStore,
    module: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = tls_registry.ref("filters/add-header:v1")
    _add(store, module, ref)
    docker = Path(os.environ["DOCKER_CONFIG"])
    docker.mkdir(parents=True, exist_ok=True)

    # 1. inline auths, the way `docker login` writes them without a store
    auth = base64.b64encode(b"alice:wonderland").decode()
    (docker / "config.json").write_text(json.dumps({"auths": {tls_registry.host: {"auth": auth}}}))
    push(store, ref, tls_registry.options)

    # 2. a credential helper on PATH, named by credHelpers for this registry
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "helper-calls"
    helper = bin_dir / "docker-credential-fake"
    helper.write_text(
        "#!/bin/sh\n"
        f'[ "$1" = get ] || exit 1\nread server\necho "$server" >> {calls}\n'
        f'if [ "$server" = "{tls_registry.host}" ]; then\n'
        '  echo \'{"ServerURL":"x","Username":"alice","Secret":"wonderland"}\'\n'
        "else echo 'credentials not found in native keychain'; exit 1; fi\n"
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (docker / "config.json").write_text(json.dumps({"credHelpers": {tls_registry.host: "fake"}}))
    store.remove(ref)
    pull(store, ref, tls_registry.options)
    assert calls.read_text().split() == [tls_registry.host]

    # 3. a helper that has nothing for this registry: anonymous, refused with a hint
    (docker / "config.json").write_text(json.dumps({"credsStore": "fake"}))
    calls.unlink()
    other = LocalStore(tmp_path / "other-home")
    monkeypatch.setenv("WASMKIT_HOME", str(other.home))
    helper.write_text(helper.read_text().replace(tls_registry.host, "elsewhere.example"))
    with pytest.raises(AuthError) as caught:
        pull(other, ref, tls_registry.options)
    assert "requires authentication" in caught.value.message
    assert calls.read_text().split() == [tls_registry.host]
