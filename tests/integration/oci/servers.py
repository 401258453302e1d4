"""Real servers the OCI tests own: Debian's docker-registry, a token server, a test CA.

Each registry is a process started with its own config in a temporary directory, on a free
port, polled on /v2/ until it answers, and stopped (with its log kept for failures) by the
fixture that started it. The token server is a small HTTP server in the test process that
issues RS256 JWTs signed with ``openssl`` and records every scope it was asked for.
"""

from __future__ import annotations

import base64
import json
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import requests

from wasmkit.oci import RegistryOptions


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server6(ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextmanager
def serve_http(
    handler: type[BaseHTTPRequestHandler], tls: TestCA | None = None, address: str = "127.0.0.1"
) -> Iterator[ThreadingHTTPServer]:
    """A threaded HTTP(S) server on a free loopback port (``::1``: IPv6), serving until the
    block ends."""
    server = (_Server6 if ":" in address else ThreadingHTTPServer)((address, 0), handler)
    server.daemon_threads = True
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.cert, tls.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_tcp(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[int]:
    """A threaded TCP server on a free loopback port, serving until the block ends: ``handle``
    gets each connection and an event that is set when the block ends; yields the port."""
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            handle(self.request, stop)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class TestCA:
    __test__ = False
    ca: Path
    cert: Path
    key: Path


def make_ca(directory: Path) -> TestCA:
    """A CA and a server certificate for 127.0.0.1 / localhost it signed."""
    directory.mkdir(parents=True, exist_ok=True)
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=wasmkit test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )
    openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=directory,
    )
    (directory / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        cwd=directory,
    )
    return TestCA(directory / "ca.crt", directory / "server.crt", directory / "server.key")


@dataclass
class Registry:
    host: str
    options: RegistryOptions
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    def ref(self, path: str) -> str:
        return f"{self.host}/{path}"

    @property
    def log(self) -> str:
        path = self.directory / "registry.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def run_registry(
    directory: Path,
    *,
    auth: str = "",
    tls: TestCA | None = None,
) -> Iterator[Registry]:
    """Start docker-registry with its own config; stop it on exit."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise RuntimeError("docker-registry is not installed (run .ci/setup)")
    directory.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        port = free_port()
        tls_block = (
            f"  tls: {{certificate: {tls.cert}, key: {tls.key}}}\n" if tls is not None else ""
        )
        (directory / "config.yml").write_text(
            "version: 0.1\n"
            "log: {level: info, accesslog: {disabled: false}}\n"
            f"storage: {{filesystem: {{rootdirectory: {directory / 'data'}}}, delete: {{enabled: true}}}}\n"
            f"http:\n  addr: 127.0.0.1:{port}\n  secret: {uuid.uuid4().hex}\n{tls_block}"
            f"{auth}"
        )
        log = (directory / "registry.log").open("wb")
        process = subprocess.Popen(
            [binary, "serve", str(directory / "config.yml")], stdout=log, stderr=subprocess.STDOUT
        )
        scheme = "https" if tls else "http"
        deadline = time.monotonic() + 10
        ready = False
        while time.monotonic() < deadline and process.poll() is None:
            try:
                r = requests.get(
                    f"{scheme}://127.0.0.1:{port}/v2/",
                    timeout=1,
                    verify=str(tls.ca) if tls else True,
                )
                ready = r.status_code in (200, 401)
                if ready:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.02)
        if ready:
            break
        process.kill()
        process.wait()
        log.close()
        if attempt == 2:
            raise RuntimeError(
                "docker-registry did not start:\n" + (directory / "registry.log").read_text()
            )
    options = RegistryOptions(plain_http=tls is None, ca_file=tls.ca if tls else None, timeout=10)
    registry = Registry(f"127.0.0.1:{port}", options, directory, process)
    try:
        yield registry
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def htpasswd_block(directory: Path, users: dict[str, str]) -> str:
    path = directory / "htpasswd"
    lines = []
    for user, password in users.items():
        done = subprocess.run(
            ["htpasswd", "-Bbn", user, password], check=True, capture_output=True, text=True
        )
        lines.append(done.stdout.strip())
    path.write_text("\n".join(lines) + "\n")
    return f"auth:\n  htpasswd: {{realm: wasmkit-test, path: {path}}}\n"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class TokenServer:
    """Grants: anyone may pull ``public/*``; each user has actions on every repository."""

    directory: Path
    users: dict[str, tuple[str, list[str]]]  # user -> (password, actions)
    service: str = "wasmkit-test"
    issuer: str = "wasmkit-test-issuer"
    requests: list[tuple[str, list[str]]] = field(default_factory=list)  # (user, scopes asked)
    port: int = 0

    def __post_init__(self) -> None:
        openssl(
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "signer.key",
            "-out",
            "signer.crt",
            "-days",
            "2",
            "-subj",
            "/CN=wasmkit token signer",
            cwd=self.directory,
        )
        der = subprocess.run(
            ["openssl", "x509", "-in", "signer.crt", "-outform", "DER"],
            cwd=self.directory,
            check=True,
            capture_output=True,
        ).stdout
        self._x5c = base64.b64encode(der).decode()

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def registry_auth(self) -> str:
        return (
            "auth:\n  token:\n"
            f"    realm: {self.realm}\n    service: {self.service}\n    issuer: {self.issuer}\n"
            f"    rootcertbundle: {self.directory / 'signer.crt'}\n"
        )

    def grant(self, user: str | None, scope: str) -> dict[str, object] | None:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            return None
        allowed = set(self.users[user][1]) if user else set()
        if name.startswith("public/"):
            allowed.add("pull")
        granted = [a for a in actions.split(",") if a in allowed]
        return {"type": "repository", "name": name, "actions": granted}

    def token(self, user: str | None, scopes: list[str]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": user or "",
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": [g for g in (self.grant(user, s) for s in scopes) if g],
        }
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self._x5c]}
        signing_input = (
            f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        )
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", "signer.key"],
            input=signing_input.encode(),
            cwd=self.directory,
            check=True,
            capture_output=True,
        ).stdout
        return f"{signing_input}.{_b64url(signature)}"

    @contextmanager
    def serve(self) -> Iterator[TokenServer]:
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                query = parse_qs(url.query)
                user: str | None = None
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    name, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    if name not in server_self.users or server_self.users[name][0] != password:
                        self.send_response(401)
                        self.end_headers()
                        return
                    user = name
                scopes = query.get("scope", [])
                server_self.requests.append((user or "", scopes))
                body = json.dumps({"token": server_self.token(user, scopes), "expires_in": 300})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        with serve_http(Handler) as server:
            self.port = server.server_address[1]
            yield self
