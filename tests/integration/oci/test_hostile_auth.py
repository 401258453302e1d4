"""Findings 2 and 3 of the hostile-registry probe: credentials go only where they were given for.

A registry we control (TLS with the test CA where it matters) sends an upload ``Location`` on
another origin, or a Bearer challenge whose token realm is plain HTTP, on another host, or not
an HTTP URL. The password must never reach another origin, never cross the wire in clear text
when the registry speaks https, and never be printed.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.hostile import HostileServer, Reply, Request, authorizations
from tests.integration.oci.servers import TestCA
from wasmkit.oci import LocalStore
from wasmkit.oci.credentials import Credential, CredentialStore

pytestmark = pytest.mark.registry

SECRET = "s3cret-Pa55"
BASIC = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()


def _no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and BASIC.split()[1] not in text


def _basic_registry(location: str) -> Callable[[Request], Reply]:
    def handle(request: Request) -> Reply:
        if request.headers.get("Authorization") != BASIC:
            return Reply(401, headers={"WWW-Authenticate": 'Basic realm="hostile"'})
        if request.method == "HEAD":
            return Reply(404)
        if request.method == "POST":
            return Reply(202, headers={"Location": location})
        if request.method == "PUT" and "/manifests/" in request.path:
            return Reply(201)
        return Reply(404)

    return handle


def _accept_all(request: Request) -> Reply:
    return Reply(201)


@pytest.fixture
def stored(store: LocalStore, module: Path) -> Callable[[str], str]:
    def add(host: str) -> str:
        ref = f"{host}/x/filter:v1"
        store.add_module(module, ref, root_ids=["r"], abi_versions=["0.2.1"])
        CredentialStore(store.home).save(host, Credential("alice", SECRET))
        return ref

    return add


def test_an_upload_location_over_http_from_an_https_registry_is_refused(
    test_ca: TestCA, stored: Callable[[str], str], wasmkit: Callable[..., Result]
) -> None:
    with HostileServer(_accept_all).serve() as collector:
        handler = _basic_registry(f"http://127.0.0.1:{collector.port}/upload?session=1")
        with HostileServer(handler, tls=test_ca).serve() as registry:
            ref = stored(registry.host)
            result = wasmkit("push", ref, "--ca-file", str(test_ca.ca))
    assert result.code == 2, result.err
    assert "another origin" in result.err and "hint:" in result.err
    assert collector.requests == []  # not the credential, not even the blob
    _no_secret(result.out, result.err)


def test_an_upload_location_on_another_host_gets_no_credential(
    stored: Callable[[str], str], wasmkit: Callable[..., Result]
) -> None:
    with HostileServer(_accept_all).serve() as collector:
        handler = _basic_registry(f"http://localhost:{collector.port}/upload?session=1")
        with HostileServer(handler).serve() as registry:
            ref = stored(registry.host)
            result = wasmkit("push", ref, "--plain-http")
    assert result.code == 0, result.err
    uploads = [r for r in collector.requests if r.method == "PUT"]
    assert uploads and all(r.path.startswith("/upload?session=1&digest=sha256%3A") for r in uploads)
    assert authorizations(collector) == []
    assert authorizations(registry) and set(authorizations(registry)) == {BASIC}
    _no_secret(result.out, result.err)


def _token_registry(realm: str) -> Callable[[Request], Reply]:
    def handle(request: Request) -> Reply:
        if request.headers.get("Authorization") != "Bearer tok":
            challenge = f'Bearer realm="{realm}",service="hostile",scope="repository:x/f:pull"'
            return Reply(401, headers={"WWW-Authenticate": challenge})
        return Reply(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"no"}]}')

    return handle


def _token_server(request: Request) -> Reply:
    return Reply(200, json.dumps({"token": "tok"}).encode())


def _pull_with_realm(
    realm_of: Callable[[HostileServer], str],
    test_ca: TestCA,
    store: LocalStore,
    wasmkit: Callable[..., Result],
    *,
    token_tls: bool,
) -> tuple[Result, HostileServer]:
    tokens = HostileServer(_token_server, tls=test_ca if token_tls else None)
    with tokens.serve(), HostileServer(_token_registry(realm_of(tokens)), tls=test_ca).serve() as r:
        CredentialStore(store.home).save(r.host, Credential("alice", SECRET))
        result = wasmkit("-v", "pull", f"{r.host}/x/f:v1", "--ca-file", str(test_ca.ca))
    _no_secret(result.out, result.err)
    return result, tokens


def test_a_plain_http_token_realm_of_an_https_registry_is_refused(
    test_ca: TestCA, store: LocalStore, wasmkit: Callable[..., Result]
) -> None:
    result, tokens = _pull_with_realm(
        lambda t: f"http://127.0.0.1:{t.port}/token", test_ca, store, wasmkit, token_tls=False
    )
    assert result.code == 2 and "plain HTTP" in result.err and "hint:" in result.err
    assert tokens.requests == []


def test_a_token_realm_on_another_host_gets_no_credential(
    test_ca: TestCA,
    store: LocalStore,
    wasmkit: Callable[..., Result],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wasmkit")  # what -v shows
    result, tokens = _pull_with_realm(
        lambda t: f"https://localhost:{t.port}/token", test_ca, store, wasmkit, token_tls=True
    )
    assert tokens.requests and authorizations(tokens) == []
    assert result.code == 2 and "has no tag v1" in result.err  # it went on, anonymously
    assert f"https://localhost:{tokens.port}/token" in caplog.text  # -v names the realm
    assert "not sent" in caplog.text
    assert SECRET not in caplog.text


def test_a_token_realm_on_the_registry_host_gets_the_credential(
    test_ca: TestCA,
    store: LocalStore,
    wasmkit: Callable[..., Result],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wasmkit")
    result, tokens = _pull_with_realm(
        lambda t: f"https://127.0.0.1:{t.port}/token", test_ca, store, wasmkit, token_tls=True
    )
    assert authorizations(tokens) == [BASIC]
    assert result.code == 2 and "has no tag v1" in result.err
    assert f"https://127.0.0.1:{tokens.port}/token" in caplog.text


@pytest.mark.parametrize("realm", ["file:///etc/passwd", "ftp://127.0.0.1/token", "/token", ""])
def test_a_realm_that_is_not_an_http_url(
    test_ca: TestCA, store: LocalStore, wasmkit: Callable[..., Result], realm: str
) -> None:
    result, tokens = _pull_with_realm(lambda t: realm, test_ca, store, wasmkit, token_tls=False)
    assert result.code == 2 and "hint:" in result.err, result.err
    assert "realm" in result.err and "Traceback" not in result.err
    assert tokens.requests == []
