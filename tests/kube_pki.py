"""The test cluster's certificates and kubeconfigs, made with ``openssl``.

One CA signs the apiserver's serving certificate (127.0.0.1, localhost), an admin client
certificate (``O=system:masters``) and any user's; a P-256 key pair signs service-account tokens.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


@dataclass(frozen=True)
class Pki:
    """Files made by :func:`make_pki` in one directory."""

    directory: Path

    def __getitem__(self, name: str) -> Path:
        return self.directory / name

    def sign(self, stem: str, subject: str, extensions: str) -> tuple[Path, Path]:
        """A new P-256 key ``<stem>.key`` and its certificate ``<stem>.crt`` from the test CA
        (``extensions``: an openssl extfile in the directory)."""
        key = "ec_paramgen_curve:prime256v1"
        _openssl("req", "-newkey", "ec", "-pkeyopt", key, "-nodes", "-keyout", f"{stem}.key",
                 "-out", f"{stem}.csr", "-subj", subject, cwd=self.directory)  # fmt: skip
        _openssl("x509", "-req", "-in", f"{stem}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{stem}.crt", "-days", "2", "-extfile", extensions,
                 cwd=self.directory)  # fmt: skip
        return self.directory / f"{stem}.crt", self.directory / f"{stem}.key"

    def client_cert(self, user: str, groups: Iterable[str] = ()) -> tuple[Path, Path]:
        """A client certificate for ``user`` (CN) in ``groups`` (O), signed by the test CA."""
        subject = f"/CN={user}" + "".join(f"/O={g}" for g in groups)
        return self.sign(f"user-{user}-{uuid.uuid4().hex[:6]}", subject, "client.cnf")


def make_pki(directory: Path) -> Pki:
    """CA, apiserver serving cert (127.0.0.1/localhost), admin client cert, SA key pair.

    P-256 keys throughout: an RSA key costs ~0.4 s to make on a busy 2-core machine."""
    directory.mkdir(parents=True, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=wasmkit test kube CA",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)  # fmt: skip
    (directory / "server.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\n"
        "extendedKeyUsage=serverAuth\n"
    )
    (directory / "client.cnf").write_text("extendedKeyUsage=clientAuth\n")
    pki = Pki(directory)
    pki.sign("server", "/CN=kube-apiserver", "server.cnf")
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key", cwd=directory)
    _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=directory)
    cert, key = pki.client_cert("admin", ["system:masters"])
    cert.rename(directory / "admin.crt")
    key.rename(directory / "admin.key")
    return pki


def write_kubeconfig(
    path: Path, server: str, ca: Path, cert: Path, key: Path, *, namespace: str | None = None
) -> Path:
    context: dict[str, Any] = {"cluster": "wasmkit-test", "user": "user"}
    if namespace:
        context["namespace"] = namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "wasmkit-test",
                "cluster": {"server": server, "certificate-authority-data": _b64(ca)},
            }
        ],
        "users": [
            {
                "name": "user",
                "user": {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)},
            }
        ],
        "contexts": [{"name": "wasmkit-test", "context": context}],
        "current-context": "wasmkit-test",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path
