from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from wasmkit.errors import InputFileError
from wasmkit.oci.credentials import Credential, CredentialStore


def _store(tmp_path: Path, docker: dict[str, object] | None = None) -> CredentialStore:
    config = tmp_path / "docker" / "config.json"
    if docker is not None:
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(json.dumps(docker))
    return CredentialStore(tmp_path / "home", docker_config=config)


def test_save_get_remove_with_mode_0600(tmp_path: Path) -> None:
    store = _store(tmp_path)
    path = store.save("localhost:5000", Credential("alice", "wonderland"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "wonderland" not in path.read_text()  # base64, as Docker does; never plain
    got = store.get("localhost:5000")
    assert got is not None and (got.username, got.secret) == ("alice", "wonderland")
    assert store.get("other:5000") is None
    assert store.remove("localhost:5000") is True
    assert store.remove("localhost:5000") is False
    assert store.get("localhost:5000") is None
    assert list(path.parent.glob(".*tmp")) == []


def test_docker_config_auths_in_every_key_form(tmp_path: Path) -> None:
    auth = base64.b64encode(b"bob:builder").decode()
    store = _store(
        tmp_path,
        {
            "auths": {
                "https://index.docker.io/v1/": {"auth": auth},
                "https://ghcr.io": {"auth": auth},
                "quay.io": {"username": "carol", "password": "pw"},
                "tok.example": {"identitytoken": "refresh-me"},
            }
        },
    )
    hub = store.get("docker.io")
    assert hub is not None and hub.username == "bob"
    ghcr = store.get("ghcr.io")
    assert ghcr is not None and ghcr.secret == "builder"
    quay = store.get("quay.io")
    assert quay is not None and quay.username == "carol"
    token = store.get("tok.example")
    assert token is not None and token.is_identity_token and token.secret == "refresh-me"


def test_wasmkit_credentials_win_over_docker(tmp_path: Path) -> None:
    auth = base64.b64encode(b"docker-user:x").decode()
    store = _store(tmp_path, {"auths": {"r.example": {"auth": auth}}})
    store.save("r.example", Credential("own-user", "y"))
    got = store.get("r.example")
    assert got is not None and got.username == "own-user"


def test_a_broken_docker_config_is_an_input_error(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.docker_config.parent.mkdir(parents=True)
    store.docker_config.write_text("{not json")
    with pytest.raises(InputFileError) as caught:
        store.get("r.example")
    assert str(store.docker_config) in caught.value.message


def test_a_missing_helper_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker-credential-* here
    store = _store(tmp_path, {"credsStore": "nothere", "credHelpers": {"a.example": "nothere"}})
    assert store.get("a.example") is None
    assert store.get("b.example") is None
