"""Registry credentials: wasmkit's own file, then Docker's ``config.json`` and its helpers.

wasmkit's file is ``$WASMKIT_HOME/credentials.json`` (mode 0600, written atomically), in the
same ``{"auths": {host: {"auth": base64(user:secret)}}}`` shape Docker uses. Docker's file
(``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``) is only read: ``credHelpers``
per registry, then ``credsStore``, then inline ``auths``. A helper is the program
``docker-credential-<name>``, asked with ``get`` and the server name on stdin.
Secrets never reach a log line or an error message.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasmkit._atomic import write_atomic
from wasmkit._documents import load_json, read_json_file, require_object
from wasmkit.errors import InputFileError, ProcessFailed
from wasmkit.oci.reference import DEFAULT_REGISTRY

log = logging.getLogger(__name__)

DOCKER_HUB_KEY = "https://index.docker.io/v1/"


@dataclass(frozen=True)
class Credential:
    username: str
    secret: str = field(repr=False)
    source: str = ""  # where it came from, for -v logs ("wasmkit", "docker config", "helper X")

    @property
    def is_identity_token(self) -> bool:
        return self.username == "<token>"


def _server_key(registry: str) -> str:
    """The name Docker's files and helpers use for a registry."""
    return DOCKER_HUB_KEY if registry == DEFAULT_REGISTRY else registry


def _host_of(key: str) -> str:
    host = key.split("://", 1)[-1].split("/", 1)[0]
    return DEFAULT_REGISTRY if host in ("index.docker.io", "registry-1.docker.io") else host


def _decode(entry: Any, source: str) -> Credential | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("identitytoken"):
        return Credential("<token>", str(entry["identitytoken"]), source)
    if entry.get("auth"):
        try:
            user, _, secret = base64.b64decode(str(entry["auth"])).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            log.warning("ignoring an unreadable auth entry in %s", source)
            return None
        return Credential(user, secret, source)
    if entry.get("username") and entry.get("password"):
        return Credential(str(entry["username"]), str(entry["password"]), source)
    return None


def from_auths(config: Any, registry: str, source: str) -> Credential | None:
    """The credential for ``registry`` in a ``{"auths": {...}}`` document (a Kubernetes pull
    Secret's ``.dockerconfigjson``, Docker's config.json), or None."""
    auths = config.get("auths") if isinstance(config, dict) else None
    for key, entry in (auths or {}).items():
        if _host_of(str(key)) == registry:
            cred = _decode(entry, source)
            if cred:
                return cred
    return None


MAX_CONFIG_BYTES = 4 * 1024 * 1024
_SHAPE = {"auths": dict, "credHelpers": dict, "credsStore": str}


def _read_json(path: Path) -> dict[str, Any]:
    """Docker's config.json or wasmkit's credentials.json: bounded, an object, the right shape."""
    data = read_json_file(path, max_bytes=MAX_CONFIG_BYTES)
    return {} if data is None else require_object(data, str(path), _SHAPE)


def docker_config_path() -> Path:
    env = os.environ.get("DOCKER_CONFIG")
    return (Path(env) if env else Path.home() / ".docker") / "config.json"


def run_helper(helper: str, registry: str) -> Credential | None:
    """Ask ``docker-credential-<helper>`` for a registry's credential (None if it has none)."""
    program = shutil.which(f"docker-credential-{helper}")
    if program is None:
        log.warning(
            "credential helper docker-credential-%s is not on PATH; continuing without it", helper
        )
        return None
    command = [program, "get"]
    import subprocess  # only where a credential helper is configured

    try:
        done = subprocess.run(
            command,
            input=_server_key(registry),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProcessFailed(
            f"credential helper docker-credential-{helper} did not answer in 30 s",
            command=command,
            returncode=None,
            hint="unlock the helper's keychain, or use `wasmkit login`",
        ) from None
    if done.returncode != 0:
        message = (done.stdout + done.stderr).strip()
        if "not found" in message.lower():
            return None
        # Its output is not quoted: a helper may print the secret before it fails.
        raise ProcessFailed(
            f"credential helper docker-credential-{helper} failed (exit {done.returncode}); "
            "its output is not shown, as it may hold the secret",
            command=command,
            returncode=done.returncode,
            hint=f"see why with `echo {_server_key(registry)} | docker-credential-{helper} get`, "
            "or use `wasmkit login`",
        )
    try:
        data = load_json(done.stdout, f"docker-credential-{helper}'s answer", max_bytes=64 * 1024)
        return Credential(str(data["Username"]), str(data["Secret"]), f"helper {helper}")
    except (InputFileError, KeyError, TypeError):
        raise ProcessFailed(
            f"credential helper docker-credential-{helper} printed no credential",
            command=command,
            returncode=0,
            hint='the helper should print {"Username": ..., "Secret": ...}',
        ) from None


class CredentialStore:
    def __init__(self, home: Path, docker_config: Path | None = None):
        self.path = home / "credentials.json"
        self.docker_config = docker_config or docker_config_path()

    def get(self, registry: str) -> Credential | None:
        own = _read_json(self.path).get("auths", {})
        for key, entry in own.items():
            if _host_of(key) == registry:
                cred = _decode(entry, "wasmkit credentials")
                if cred:
                    return cred
        docker = _read_json(self.docker_config)
        helpers = docker.get("credHelpers") or {}
        for key, helper in helpers.items():
            if _host_of(key) == registry:
                return run_helper(str(helper), registry)
        if docker.get("credsStore"):
            cred = run_helper(str(docker["credsStore"]), registry)
            if cred:
                return cred
        return from_auths(docker, registry, f"docker config {self.docker_config}")

    def save(self, registry: str, credential: Credential) -> Path:
        data = _read_json(self.path)
        auths = data.setdefault("auths", {})
        token = base64.b64encode(f"{credential.username}:{credential.secret}".encode()).decode()
        auths[registry] = {"auth": token}
        self._write(data)
        return self.path

    def remove(self, registry: str) -> bool:
        data = _read_json(self.path)
        auths = data.get("auths", {})
        keys = [k for k in auths if _host_of(k) == registry]
        for key in keys:
            del auths[key]
        if keys:
            self._write(data)
        return bool(keys)

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, json.dumps(data, indent=2), mode=0o600)
