"""A registry of the tests' own that serves chosen bytes: wrong ones, or half of them and a stall.

Only GET /v2/, manifests and blobs, which is all a pull needs.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.integration.oci.servers import serve_http


def wasm_of_size(size: int) -> bytes:
    """A valid module of ``size`` bytes: the header and one custom section of random filler."""
    header = b"\0asm\x01\0\0\0"
    payload_len = size - len(header) - 1 - 5
    body = b"\x01x" + os.urandom(payload_len - 2)
    n = len(body)
    leb = bytes(
        [
            (n & 0x7F) | 0x80,
            ((n >> 7) & 0x7F) | 0x80,
            ((n >> 14) & 0x7F) | 0x80,
            ((n >> 21) & 0x7F) | 0x80,
            (n >> 28) & 0x7F,
        ]
    )
    return header + b"\x00" + leb + body


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class FakeRegistry:
    manifests: dict[str, tuple[bytes, str]] = field(
        default_factory=dict
    )  # "repo:ref" -> body, type
    blobs: dict[str, bytes] = field(default_factory=dict)  # digest -> bytes actually served
    fetched: list[str] = field(default_factory=list)  # blob digests asked for, in order
    headers: dict[str, str] = field(default_factory=dict)  # extra headers of manifest answers
    deny: bool = False  # answer 403 to manifests, as a registry does to a user without access
    stall_blob: str | None = None  # digest: send half, then wait for ``release``
    cut_blob: str | None = None  # digest: send half of it, then close the connection
    half_sent: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    port: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add_image(
        self,
        repo: str,
        tag: str,
        config: bytes,
        layers: list[tuple[str, bytes]],
        config_type: str = "application/vnd.oci.image.config.v1+json",
    ) -> str:
        self.blobs[digest(config)] = config
        for _, data in layers:
            self.blobs[digest(data)] = data
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": config_type, "digest": digest(config), "size": len(config)},
                "layers": [
                    {"mediaType": t, "digest": digest(d), "size": len(d)} for t, d in layers
                ],
            }
        ).encode()
        self.manifests[f"{repo}:{tag}"] = (manifest, "application/vnd.oci.image.manifest.v1+json")
        self.manifests[f"{repo}:{digest(manifest)}"] = self.manifests[f"{repo}:{tag}"]
        return digest(manifest)

    @contextmanager
    def serve(self) -> Iterator[FakeRegistry]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                for name, value in fake.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                if path == "/v2/":
                    return self._send(200, b"{}", "application/json")
                repo, sep, ref = path.removeprefix("/v2/").rpartition("/manifests/")
                if sep:
                    if fake.deny:
                        return self._send(
                            403,
                            b'{"errors":[{"code":"DENIED","message":"access denied"}]}',
                            "application/json",
                        )
                    if f"{repo}:{ref}" in fake.manifests:
                        body, kind = fake.manifests[f"{repo}:{ref}"]
                        return self._send(200, body, kind)
                    return self._send(
                        404, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', "application/json"
                    )
                _, sep, blob = path.rpartition("/blobs/")
                fake.fetched.append(blob)
                if not sep or blob not in fake.blobs:
                    return self._send(404, b"{}", "application/json")
                data = fake.blobs[blob]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if blob == fake.cut_blob:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif blob == fake.stall_blob:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    fake.half_sent.set()
                    fake.release.wait(60)
                    self.wfile.write(data[len(data) // 2 :])
                else:
                    self.wfile.write(data)

        with serve_http(Handler) as server:
            self.port = server.server_address[1]
            try:
                yield self
            finally:
                self.release.set()
