"""The safe behaviours the hostile-registry probe found, kept as regression tests.

Where each is tested:

1. tar members never escape (``../``, absolute paths, links): here
2. a redirect to another origin drops the credential: here
3. TLS verification is on by default: here, and test_tls_htpasswd (the CA or --insecure)
4. credentials are 0600, also when rewritten: here, and test_tls_htpasswd
5. kill -9 mid-pull leaves nothing that looks complete: test_faults
6. test-file validation names the field: tests/unit/testing/test_spec.py
7. a blob whose bytes do not match its digest is refused: test_faults
8. a blob longer than its descriptor is refused: test_faults
9. a manifest fetched by digest must match it: here
10. a plugin that is not wasm is refused: test_faults
11. 403 is exit 2 with a login hint: test_faults
12. --insecure is said once, in a warning: here
"""

from __future__ import annotations

import base64
import gzip
import io
import logging
import socket
import stat
import tarfile
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.oci.conftest import Result
from tests.integration.oci.fake_registry import FakeRegistry
from tests.integration.oci.hostile import (
    HostileServer,
    Reply,
    Request,
    authorizations,
    snapshot,
)
from tests.integration.oci.servers import TestCA, serve_tcp
from wasmkit.oci import LocalStore
from wasmkit.oci.credentials import Credential, CredentialStore

pytestmark = pytest.mark.registry

TAR_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def _layer(members: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for info in members:
            body = data.get(info.name)
            if body is not None:
                info.size = len(body)
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return gzip.compress(raw.getvalue(), mtime=0)


def test_tar_members_never_escape(
    tmp_path: Path, store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    wasm = module.read_bytes()
    names = ["../../escaped.wasm", "/tmp/absolute-escape.wasm", "./../up.wasm"]
    members = [tarfile.TarInfo(n) for n in names]
    link = tarfile.TarInfo("link")
    link.type, link.linkname = tarfile.SYMTYPE, str(tmp_path / "victim")
    hard = tarfile.TarInfo("hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "../../etc/passwd"
    members += [link, hard, tarfile.TarInfo("plugin.wasm")]
    layer = _layer(members, {n: wasm for n in [*names, "plugin.wasm"]})
    before = snapshot(tmp_path, exclude=store.root)
    with FakeRegistry().serve() as fake:
        fake.add_image("x/tar", "v1", b"{}", [(TAR_GZ, layer)])
        pulled = wasmkit("pull", f"{fake.host}/x/tar:v1", "--plain-http")
    assert pulled.code == 0, pulled.err
    assert store.module_path(f"{fake.host}/x/tar:v1").read_bytes() == wasm
    assert snapshot(tmp_path, exclude=store.root) == before
    assert not Path("/tmp/absolute-escape.wasm").exists()
    inside = {p.name for p in store.root.rglob("*")}
    assert not inside & {"escaped.wasm", "up.wasm", "link", "hard", "absolute-escape.wasm"}


OCI = "application/vnd.oci.image.manifest.v1+json"


def test_a_redirect_to_another_origin_sends_no_authorization_header(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    wasm = module.read_bytes()
    fake = FakeRegistry()
    fake.add_image("x/r", "v1", b"{}", [("application/wasm", wasm)])
    secret = base64.b64encode(b"alice:s3cret").decode()

    def storage(request: Request) -> Reply:
        return Reply(200, fake.blobs[request.path.rpartition("/")[2]])

    with HostileServer(storage).serve() as other:

        def registry(request: Request) -> Reply:
            if request.headers.get("Authorization") != f"Basic {secret}":
                return Reply(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
            if "/blobs/" in request.path:
                blob = request.path.rpartition("/")[2]
                return Reply(307, headers={"Location": f"http://localhost:{other.port}/b/{blob}"})
            return Reply(200, fake.manifests["x/r:v1"][0], {"Content-Type": OCI})

        with HostileServer(registry).serve() as origin:
            CredentialStore(store.home).save(origin.host, Credential("alice", "s3cret"))
            pulled = wasmkit("pull", f"{origin.host}/x/r:v1", "--plain-http")
    assert pulled.code == 0, pulled.err
    assert other.requests and authorizations(other) == []
    assert set(authorizations(origin)) == {f"Basic {secret}"}


def test_tls_is_verified_by_default(test_ca: TestCA, wasmkit: Callable[..., Result]) -> None:
    with HostileServer(lambda r: Reply(200, b"{}"), tls=test_ca).serve() as registry:
        refused = wasmkit("pull", f"{registry.host}/x/y:v1")
    assert refused.code == 3 and "not signed by a CA this machine trusts" in refused.err


def test_credentials_stay_0600_when_rewritten(home: Path) -> None:
    store = CredentialStore(home)
    path = store.save("a.example", Credential("u", "p1"))
    path.chmod(0o644)  # loosened by hand
    store.save("b.example", Credential("u", "p2"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.remove("a.example")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_manifest_by_digest_must_match(store: LocalStore, wasmkit: Callable[..., Result]) -> None:
    with FakeRegistry().serve() as fake:
        manifest_digest = fake.add_image("x/d", "v1", b"{}", [("application/wasm", b"\0asm")])
        other = "sha256:" + "0" * 64
        fake.manifests[f"x/d:{other}"] = fake.manifests[f"x/d:{manifest_digest}"]
        result = wasmkit("pull", f"{fake.host}/x/d@{other}", "--plain-http")
    assert result.code == 3 and "does not match" in result.err and "hint:" in result.err
    assert store.images() == []


def test_insecure_is_said_in_a_warning(
    test_ca: TestCA, wasmkit: Callable[..., Result], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="wasmkit")
    with HostileServer(lambda r: Reply(404, b"{}"), tls=test_ca).serve() as registry:
        wasmkit("pull", f"{registry.host}/x/y:v1", "--insecure")
    assert "not verified (--insecure)" in caplog.text


def test_a_service_that_does_not_speak_http_is_named_so(
    store: LocalStore, wasmkit: Callable[..., Result]
) -> None:
    def banner(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(b"SSH-2.0-OpenSSH_9.0\r\n")

    with serve_tcp(banner) as port:
        result = wasmkit("pull", f"127.0.0.1:{port}/x/y:v1", "--plain-http", "--timeout", "5")
    assert result.code == 3, result.err
    assert "does not answer in HTTP" in result.err and "SSH-2.0" in result.err
    assert "drop --plain-http" in result.err  # the hint fits the flags given
    assert store.images() == []
