"""The transport's promises (wasmkit/oci/_transport.py), kept against real sockets.

- redirects: at most ten, never from https to plain HTTP, and Authorization gone for good
  once the origin changed (also when the chain comes back to the first origin);
- kept connections: one for a whole pull (counted on the wire), a connection the server closed
  while idle noticed before it is reused, a request that meets a closing kept connection sent
  once more on a fresh one - but never a streamed file body;
- proxies (tests/integration/oci/proxy.py): https through a CONNECT tunnel (the proxy sees no
  registry header, no credential), plain HTTP in absolute form, the proxy's own credential
  from its URL, no_proxy, and a clear UsageError for a proxy wasmkit does not speak;
- trust: REQUESTS_CA_BUNDLE and --ca-file in a real handshake;
- a blob that ends before its Content-Length: an error, nothing stored.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.integration.oci.conftest import USERS, Result
from tests.integration.oci.fake_registry import FakeRegistry, digest
from tests.integration.oci.hostile import HostileServer, Reply, Request, authorizations
from tests.integration.oci.proxy import CountingForwarder, Peer, TestProxy
from tests.integration.oci.servers import (
    Registry,
    TestCA,
    TokenServer,
    free_port,
    serve_http,
    serve_tcp,
)
from wasmkit.errors import EXIT_ENVIRONMENT, EXIT_USAGE, UntrustedInput
from wasmkit.oci import LocalStore
from wasmkit.oci._http import read_body
from wasmkit.oci._transport import MAX_REDIRECTS, FileBody, Response, Transport
from wasmkit.oci.credentials import Credential, CredentialStore

pytestmark = pytest.mark.registry

OCI = "application/vnd.oci.image.manifest.v1+json"
ALICE = Credential("alice", USERS["alice"])
ALICE_BASIC = base64.b64encode(f"alice:{USERS['alice']}".encode()).decode()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA bundle of the machine's: each test sets what it means."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def _push(wasmkit: Callable[..., Result], module: Path, ref: str, *flags: str) -> None:
    pushed = wasmkit("push", ref, "--module", str(module), "--root-id", "add_header", *flags)
    assert pushed.code == 0, pushed.err


def _flags(registry: Registry) -> list[str]:
    if registry.options.plain_http:
        return ["--plain-http"]
    return ["--ca-file", str(registry.options.ca_file)]


# -- a server that closes connections as a test says ------------------------------------------


@dataclass
class Scripted:
    """HTTP/1.1 on loopback (TLS with ``tls``) that answers ``ok`` and keeps the connection,
    unless ``act(connection, request)`` (both counted from 1) says "close" (FIN, after reading
    the request) or "reset" (RST); ``idle``: close a kept connection idle this long."""

    act: Callable[[int, int], str] = lambda connection, request: "answer"
    tls: TestCA | None = None
    idle: float = 10.0
    seen: list[tuple[int, str, str, bytes]] = field(default_factory=list)
    connections: int = 0
    closed: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @contextmanager
    def serve(self) -> Iterator[Scripted]:
        lock = threading.Lock()
        context = None
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert, self.tls.key)

        def handle(sock: socket.socket, stop: threading.Event) -> None:
            if context is not None:
                sock = context.wrap_socket(sock, server_side=True)
            with lock:
                self.connections += 1
                number = self.connections
            try:
                self._serve(sock, number)
            finally:
                sock.close()
                with lock:
                    self.closed += 1

        with serve_tcp(handle) as self.port:
            yield self

    def _serve(self, sock: socket.socket, number: int) -> None:
        peer = Peer(sock)
        for index in itertools.count(1):
            sock.settimeout(self.idle)
            try:
                head = peer.head()
            except TimeoutError:
                return  # idle too long: closed
            if head is None:
                return
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.seen.append((number, method, path, peer.exactly(length)))
            action = self.act(number, index)
            if action == "reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            if action != "answer":
                return
            body = b"" if method == "HEAD" else b"ok"
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n" + body)

    def wait_closed(self, n: int) -> None:
        deadline = time.monotonic() + 5
        while self.closed < n:
            assert time.monotonic() < deadline, "the server never closed the connection"
            time.sleep(0.005)


def _ok(response: Response) -> None:
    assert response.status_code == 200
    with response:
        read_body(response, timeout=5)


# -- redirects --------------------------------------------------------------------------------

CODES = [301, 302, 303, 307, 308]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("hops", [1, MAX_REDIRECTS, MAX_REDIRECTS + 1, 50])
def test_a_redirect_chain_longer_than_ten_is_refused(method: str, hops: int) -> None:
    def chain(request: Request) -> Reply:
        n = int(request.path.rpartition("/")[2])
        if n < hops:
            return Reply(CODES[n % len(CODES)], headers={"Location": f"/hop/{n + 1}"})
        return Reply(200, b"the end")

    with HostileServer(chain).serve() as server:
        transport = Transport(timeout=5)
        if hops <= MAX_REDIRECTS:
            response = transport.request(method, f"{server.url}/hop/0")
            assert response.status_code == 200 and response.url == f"{server.url}/hop/{hops}"
            assert read_body(response, timeout=5) == (b"the end" if method == "GET" else b"")
        else:
            with pytest.raises(UntrustedInput, match=f"more than {MAX_REDIRECTS} times"):
                transport.request(method, f"{server.url}/hop/0")
        transport.close()
    # the eleventh Location is never followed
    assert len(server.requests) == min(hops, MAX_REDIRECTS) + 1
    assert {r.method for r in server.requests} == {method}


@pytest.mark.parametrize("method", ["PUT", "POST", "PATCH", "DELETE"])
def test_only_get_and_head_follow_redirects(method: str) -> None:
    def moved(request: Request) -> Reply:
        return Reply(307, headers={"Location": "/elsewhere"})

    with HostileServer(moved).serve() as server:
        response = Transport(timeout=5).request(method, f"{server.url}/v2/x", body=b"{}")
    assert response.status_code == 307
    assert [r.path for r in server.requests] == ["/v2/x"]


def test_a_redirect_from_https_to_plain_http_is_refused(
    test_ca: TestCA, wasmkit: Callable[..., Result], store: LocalStore
) -> None:
    with HostileServer(lambda r: Reply(200, b"{}")).serve() as plain:

        def registry(request: Request) -> Reply:
            return Reply(302, headers={"Location": f"{plain.url}{request.path}"})

        with HostileServer(registry, tls=test_ca).serve() as secure:
            with pytest.raises(UntrustedInput, match="leave https"):
                Transport(timeout=5, ca_file=test_ca.ca).request("GET", f"{secure.url}/v2/")
            refused = wasmkit("pull", f"{secure.host}/x/y:v1", "--ca-file", str(test_ca.ca))
    assert refused.code == EXIT_USAGE and "redirected to" in refused.err
    assert plain.requests == [] and store.images() == []


def test_authorization_never_comes_back_after_a_hop_to_another_origin(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    """registry -> storage -> back to the registry: the credential went only to the first."""
    wasm = module.read_bytes()
    fake = FakeRegistry()
    fake.add_image("x/r", "v1", b"{}", [("application/wasm", wasm)])
    secret = base64.b64encode(b"alice:s3cret").decode()
    ports: dict[str, int] = {}

    def storage(request: Request) -> Reply:  # another origin, that sends the client back
        blob = request.path.rpartition("/")[2]
        return Reply(302, headers={"Location": f"http://127.0.0.1:{ports['registry']}/cdn/{blob}"})

    def registry(request: Request) -> Reply:
        if request.path.startswith("/cdn/"):  # served to anyone: it must not see the secret
            return Reply(200, fake.blobs[request.path.rpartition("/")[2]])
        if request.headers.get("Authorization") != f"Basic {secret}":
            return Reply(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        if "/blobs/" in request.path:
            blob = request.path.rpartition("/")[2]
            return Reply(307, headers={"Location": f"http://127.0.0.1:{ports['storage']}/s/{blob}"})
        return Reply(200, fake.manifests["x/r:v1"][0], {"Content-Type": OCI})

    with HostileServer(storage).serve() as other, HostileServer(registry).serve() as origin:
        ports.update(registry=origin.port, storage=other.port)
        CredentialStore(store.home).save(origin.host, Credential("alice", "s3cret"))
        pulled = wasmkit("pull", f"{origin.host}/x/r:v1", "--plain-http")
    assert pulled.code == 0, pulled.err
    assert store.module_path(f"{origin.host}/x/r:v1").read_bytes() == wasm
    back = [r for r in origin.requests if r.path.startswith("/cdn/")]
    assert len(back) == 2 and len(other.requests) == 2  # the config and the module
    assert authorizations(other) == []
    assert all("authorization" not in {n.lower() for n in r.headers} for r in back)
    assert f"Basic {secret}" in authorizations(origin)


# -- kept connections -------------------------------------------------------------------------


def _streamed(kind: str, f: BinaryIO) -> BinaryIO | FileBody:
    """A file body as a reader http.client copies, or as the sendfile body registry.py uses."""
    return f if kind == "reader" else FileBody(f, 5)


@pytest.mark.parametrize("kind", ["reader", "sendfile"])
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_a_kept_connection_the_server_closed_while_idle_is_noticed_before_reuse(
    tls: bool, kind: str, test_ca: TestCA, tmp_path: Path
) -> None:
    # a file body is never sent twice: the PUT succeeds only if the dead connection was
    # noticed before the request went out
    blob = tmp_path / "blob"
    blob.write_bytes(b"12345")
    server = Scripted(tls=test_ca if tls else None, idle=0.05)
    transport = Transport(timeout=5, ca_file=test_ca.ca)
    with server.serve():
        _ok(transport.request("GET", f"{server.url}/a"))
        server.wait_closed(1)
        with blob.open("rb") as f:
            _ok(
                transport.request(
                    "PUT",
                    f"{server.url}/b",
                    body=_streamed(kind, f),
                    headers={"Content-Length": "5"},
                )
            )
        _ok(transport.request("GET", f"{server.url}/c"))  # and the new one is kept
        transport.close()
    assert server.seen == [(1, "GET", "/a", b""), (2, "PUT", "/b", b"12345"), (2, "GET", "/c", b"")]


@pytest.mark.parametrize(
    ("tls", "how"),
    [(False, "close"), (False, "reset"), (True, "close")],
    ids=["http-fin", "http-rst", "https-fin"],
)
@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("HEAD", None), ("PUT", b'{"manifest": 1}')]
)
def test_a_request_that_meets_a_closing_kept_connection_is_sent_once_more(
    tls: bool, how: str, method: str, body: bytes | None, test_ca: TestCA
) -> None:
    server = Scripted(lambda connection, request: "answer" if request == 1 else how)
    server.tls = test_ca if tls else None
    transport = Transport(timeout=5, ca_file=test_ca.ca)
    with server.serve():
        _ok(transport.request("GET", f"{server.url}/a"))
        _ok(transport.request(method, f"{server.url}/b", body=body))
        transport.close()
    sent = body or b""
    assert server.seen == [(1, "GET", "/a", b""), (1, method, "/b", sent), (2, method, "/b", sent)]


@pytest.mark.parametrize("kind", ["reader", "sendfile"])
def test_a_file_body_is_never_sent_twice(kind: str, tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(b"12345")
    server = Scripted(lambda connection, request: "answer" if request == 1 else "close")
    transport = Transport(timeout=5)
    with server.serve():
        _ok(transport.request("GET", f"{server.url}/a"))
        with blob.open("rb") as f, pytest.raises((http.client.HTTPException, OSError)):
            transport.request(
                "PUT", f"{server.url}/b", body=_streamed(kind, f), headers={"Content-Length": "5"}
            )
        transport.close()
    assert server.seen == [(1, "GET", "/a", b""), (1, "PUT", "/b", b"12345")]
    assert server.connections == 1


def test_a_request_is_sent_once_more_at_most(test_ca: TestCA) -> None:
    # the first connection answers once; every later request finds its connection closing
    server = Scripted(
        lambda connection, request: "answer" if connection == 1 == request else "close"
    )
    transport = Transport(timeout=5)
    with server.serve():
        _ok(transport.request("GET", f"{server.url}/a"))
        with pytest.raises(http.client.RemoteDisconnected):
            transport.request("GET", f"{server.url}/b")
        # a fresh connection that fails is not retried either
        with pytest.raises(http.client.RemoteDisconnected):
            transport.request("GET", f"{server.url}/c")
        transport.close()
    assert server.seen == [
        (1, "GET", "/a", b""),
        (1, "GET", "/b", b""),
        (2, "GET", "/b", b""),
        (3, "GET", "/c", b""),
    ]


@pytest.mark.parametrize("kind", ["plain", "tls+basic", "token"])
def test_a_whole_pull_opens_one_connection_to_the_registry(
    kind: str,
    request: pytest.FixtureRequest,
    store: LocalStore,
    module: Path,
    wasmkit: Callable[..., Result],
) -> None:
    fixture = {"plain": "registry", "tls+basic": "tls_registry", "token": "token_registry"}[kind]
    registry: Registry = request.getfixturevalue(fixture)
    if kind == "token":
        registry = request.getfixturevalue(fixture)[0]
    credentials = CredentialStore(store.home)
    credentials.save(registry.host, ALICE)
    _push(wasmkit, module, registry.ref("filters/one:v1"), *_flags(registry))
    assert wasmkit("rm", registry.ref("filters/one:v1")).code == 0
    assert not any((store.root / "blobs" / "sha256").iterdir())  # the pull fetches every blob
    with CountingForwarder(int(registry.host.rpartition(":")[2])).serve() as forwarder:
        credentials.save(forwarder.host, ALICE)
        ref = f"{forwarder.host}/filters/one:v1"
        pulled = wasmkit("pull", ref, *_flags(registry))
        assert pulled.code == 0, pulled.err
    assert store.module_path(ref).read_bytes() == module.read_bytes()
    # /v2/ (and its challenge), the manifest, the config and the module: one TCP connection
    assert forwarder.accepted == 1
    if kind == "token":
        server: TokenServer = request.getfixturevalue(fixture)[1]
        assert server.requests  # the token came from the other origin


# -- proxies ----------------------------------------------------------------------------------


def test_push_and_pull_through_an_https_proxy_show_it_only_a_tunnel(
    tls_registry: Registry,
    store: LocalStore,
    module: Path,
    wasmkit: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    CredentialStore(store.home).save(tls_registry.host, ALICE)
    ref = tls_registry.ref("filters/tunneled:v1")
    with TestProxy().serve() as proxy:
        monkeypatch.setenv("https_proxy", proxy.url)
        _push(wasmkit, module, ref, *_flags(tls_registry))
        assert wasmkit("rm", ref).code == 0
        pushed_through = proxy.connections
        pulled = wasmkit("pull", ref, *_flags(tls_registry))
        assert pulled.code == 0, pulled.err
    assert store.module_path(ref).read_bytes() == module.read_bytes()
    assert proxy.seen and {(s.method, s.target) for s in proxy.seen} == {
        ("CONNECT", tls_registry.host)
    }
    assert proxy.connections - pushed_through == 1  # one tunnel for the whole pull
    assert not any("authorization" in s.headers for s in proxy.seen)
    assert not any("proxy-authorization" in s.headers for s in proxy.seen)
    # what went through the tunnel is TLS: no path, no credential in clear
    assert proxy.tunneled and b"/v2/" not in proxy.tunneled
    assert ALICE_BASIC.encode() not in proxy.tunneled and b"wonderland" not in proxy.tunneled
    assert "/v2/filters/tunneled/manifests/v1" in tls_registry.log


def test_push_and_pull_through_an_http_proxy(
    registry: Registry,
    store: LocalStore,
    module: Path,
    wasmkit: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = registry.ref("filters/forwarded:v1")
    with TestProxy().serve() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        _push(wasmkit, module, ref, "--plain-http")
        assert wasmkit("rm", ref).code == 0
        pushed_through = proxy.connections
        pulled = wasmkit("pull", ref, "--plain-http")
        assert pulled.code == 0, pulled.err
    assert store.module_path(ref).read_bytes() == module.read_bytes()
    # every request in absolute form, to the registry; one kept proxy connection for the pull
    assert all(s.target.startswith(f"http://{registry.host}/v2/") for s in proxy.seen)
    assert {"HEAD", "POST", "PUT", "GET"} <= {s.method for s in proxy.seen}
    assert proxy.connections - pushed_through == 1


@pytest.mark.parametrize("scheme", ["https", "http"])
def test_a_proxy_that_wants_credentials_gets_them_from_its_url_and_keeps_them(
    scheme: str,
    request: pytest.FixtureRequest,
    store: LocalStore,
    module: Path,
    wasmkit: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry: Registry = request.getfixturevalue(
        "tls_registry" if scheme == "https" else "registry"
    )
    CredentialStore(store.home).save(registry.host, ALICE)
    ref = registry.ref("filters/gated:v1")
    with TestProxy(credentials=("proxy user", "s3cr:et@x/")).serve() as proxy:
        monkeypatch.setenv(f"{scheme}_proxy", proxy.url)  # percent-encoded in the URL
        _push(wasmkit, module, ref, *_flags(registry))
        assert wasmkit("rm", ref).code == 0
        pulled = wasmkit("pull", ref, *_flags(registry))
        assert pulled.code == 0, pulled.err
        expected = proxy.expected_authorization
        assert expected is not None
        assert proxy.seen and all(
            s.headers.get("proxy-authorization") == expected for s in proxy.seen
        )
        if scheme == "https":  # given to the proxy only, never through the tunnel
            assert expected[6:].encode() not in proxy.tunneled
        assert wasmkit("rm", ref).code == 0

        monkeypatch.setenv(f"{scheme}_proxy", f"http://127.0.0.1:{proxy.port}")
        anonymous = wasmkit("pull", ref, *_flags(registry))
        monkeypatch.setenv(f"{scheme}_proxy", proxy.url.replace("s3cr%3Aet", "guess"))
        refused = wasmkit("pull", ref, *_flags(registry))
    assert anonymous.code == EXIT_USAGE and "requires a login" in anonymous.err
    assert refused.code == EXIT_USAGE, refused.err
    assert f"proxy 127.0.0.1:{proxy.port} refused the user and password" in refused.err
    assert "USER:PASSWORD" in refused.err  # the hint
    assert "guess" not in refused.err and "s3cr" not in refused.err
    assert store.images() == []


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "{host}", "127.0.0.0/8", "*", "other,127.0.0.1"])
def test_no_proxy_bypasses_the_proxy(
    no_proxy: str,
    tls_registry: Registry,
    store: LocalStore,
    module: Path,
    wasmkit: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    CredentialStore(store.home).save(tls_registry.host, ALICE)
    ref = tls_registry.ref("filters/direct:v1")
    with TestProxy().serve() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("no_proxy", no_proxy.format(host=tls_registry.host))
        _push(wasmkit, module, ref, *_flags(tls_registry))
    assert proxy.seen == [] and proxy.connections == 0


@pytest.mark.parametrize(
    ("variable", "proxy"),
    [
        ("https_proxy", "socks5://user:s3cret@127.0.0.1:1080"),
        ("ALL_PROXY", "socks5h://127.0.0.1:1080"),
        ("https_proxy", "https://127.0.0.1:3128"),
    ],
)
def test_a_proxy_wasmkit_does_not_speak_is_a_usage_error_with_a_hint(
    variable: str, proxy: str, wasmkit: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, proxy)
    refused = wasmkit("pull", "127.0.0.1:9/x/y:v1")
    assert refused.code == EXIT_USAGE
    assert "is not supported" in refused.err and proxy.partition(":")[0] in refused.err
    assert "http://HOST:PORT" in refused.err and "no_proxy" in refused.err  # the hint
    assert "s3cret" not in refused.err


@pytest.mark.parametrize("tls", [True, False], ids=["https", "http"])
def test_an_ipv6_registry_through_a_proxy(
    tls: bool, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    with serve_http(Handler, test_ca if tls else None, "::1") as server:
        authority = f"[::1]:{server.server_address[1]}"
        scheme = "https" if tls else "http"
        with TestProxy().serve() as proxy:
            monkeypatch.setenv(f"{scheme}_proxy", proxy.url)
            # the test CA names 127.0.0.1 and localhost only: the tunnel is what is tested here
            _ok(Transport(timeout=5, verify=False).request("GET", f"{scheme}://{authority}/v2/"))
    expected = ("CONNECT", authority) if tls else ("GET", f"http://{authority}/v2/")
    assert [(s.method, s.target) for s in proxy.seen] == [expected]


@pytest.mark.parametrize(
    ("case", "said"),
    [
        ("down", "Connection refused"),
        ("no CONNECT", "it answered CONNECT with 501"),
        ("silent", "timed out"),
    ],
)
def test_a_failing_proxy_is_named_as_the_cause_not_the_registry(
    case: str, said: str, wasmkit: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    with ExitStack() as stack:
        if case == "down":
            port = free_port()
        elif case == "no CONNECT":  # http.server answers CONNECT with 501
            port = stack.enter_context(HostileServer(lambda r: Reply(200)).serve()).port
        else:  # accepts (the backlog does), never answers
            silent = stack.enter_context(socket.socket())
            silent.bind(("127.0.0.1", 0))
            silent.listen()
            port = silent.getsockname()[1]
        monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{port}")
        started = time.monotonic()
        failed = wasmkit("pull", "127.0.0.1:9/x/y:v1", "--timeout", "0.5")
    assert failed.code == EXIT_ENVIRONMENT
    assert f"127.0.0.1:9 through the proxy 127.0.0.1:{port}: {said}" in failed.err
    assert "https_proxy" in failed.err and "no_proxy" in failed.err  # the hint
    assert time.monotonic() - started < 5


# -- trust ------------------------------------------------------------------------------------


def test_a_ca_bundle_variable_or_ca_file_is_trusted_in_a_real_handshake(
    test_ca: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    with HostileServer(lambda r: Reply(200, b"ok"), tls=test_ca).serve() as server:
        with pytest.raises(ssl.SSLCertVerificationError):
            Transport(timeout=5).request("GET", f"{server.url}/v2/")
        _ok(Transport(timeout=5, ca_file=test_ca.ca).request("GET", f"{server.url}/v2/"))
        _ok(Transport(timeout=5, verify=False).request("GET", f"{server.url}/v2/"))
        for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            with monkeypatch.context() as env:
                env.setenv(variable, str(test_ca.ca))
                _ok(Transport(timeout=5).request("GET", f"{server.url}/v2/"))


def test_an_unusable_ca_bundle_variable_stops_a_pull_with_a_hint(
    tmp_path: Path, wasmkit: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nowhere.pem"))
    refused = wasmkit("pull", "127.0.0.1:9/x/y:v1")
    assert refused.code == EXIT_USAGE
    assert "REQUESTS_CA_BUNDLE" in refused.err and "nowhere.pem" in refused.err
    assert "unset it" in refused.err


# -- short bodies -----------------------------------------------------------------------------


def test_a_blob_shorter_than_its_content_length_stores_nothing(
    store: LocalStore, module: Path, wasmkit: Callable[..., Result]
) -> None:
    wasm = module.read_bytes()
    with FakeRegistry().serve() as fake:
        fake.add_image("x/cut", "v1", b"{}", [("application/wasm", wasm)])
        fake.cut_blob = digest(wasm)
        pulled = wasmkit("pull", f"{fake.host}/x/cut:v1", "--plain-http")
    assert pulled.code == EXIT_ENVIRONMENT, pulled.err
    assert "broke off" in pulled.err and "bytes early" in pulled.err
    assert store.images() == []
    blobs = store.root / "blobs" / "sha256"
    assert not blobs.exists() or not any(p.name == fake.cut_blob[7:] for p in blobs.iterdir())
    tmp = store.root / "tmp"
    assert not tmp.exists() or not [p for p in tmp.rglob("*") if p.is_file()]


@pytest.mark.parametrize("location", ["http://127.0.0.1:99999/x", "http://127.0.0.1:port/x"])
def test_a_redirect_to_a_url_with_a_bad_port_is_refused(location: str) -> None:
    redirecting = HostileServer(lambda r: Reply(302, headers={"Location": location}))
    with redirecting.serve() as server, pytest.raises(UntrustedInput, match="its port"):
        Transport(timeout=5).request("GET", f"{server.url}/v2/")


@pytest.mark.parametrize(
    "location", ["/v2/a\x01b", "/v2/a b", "/v2/\x7f"], ids=["ctrl", "space", "del"]
)
def test_a_location_with_control_characters_or_spaces_is_refused(location: str) -> None:
    redirecting = HostileServer(lambda r: Reply(307, headers={"Location": location}))
    with redirecting.serve() as server, pytest.raises(UntrustedInput, match="not valid HTTP"):
        Transport(timeout=5).request("GET", f"{server.url}/v2/")


def test_a_header_value_with_a_line_break_is_never_sent() -> None:
    with HostileServer(lambda r: Reply(200)).serve() as server:
        with pytest.raises(UntrustedInput, match="not valid HTTP"):
            Transport(timeout=5).request(
                "PUT", f"{server.url}/v2/x", headers={"Content-Type": "a/b\r\nX-Injected: 1"}
            )
        assert server.requests == []


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_head_cut_short_is_an_error_not_an_answer(method: str) -> None:
    """http.client alone reads a head cut short as whole: a HEAD of a blob would say it exists."""

    def cut(conn: socket.socket, stop: threading.Event) -> None:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 200 OK\r\nDocker-Content-Digest: sha256:")

    cut_short = pytest.raises(ConnectionResetError, match="inside the answer's headers")
    with serve_tcp(cut) as port, cut_short:
        Transport(timeout=5).request(method, f"http://127.0.0.1:{port}/v2/")
