from __future__ import annotations

from wasmkit.oci.auth import parse_challenge, scope_pull, scope_push
from wasmkit.oci.credentials import Credential


def test_bearer_challenge_with_commas_inside_quotes() -> None:
    header = (
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:a/b:pull,push",error="insufficient_scope"'
    )
    challenge = parse_challenge(header)
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:a/b:pull,push",
        "error": "insufficient_scope",
    }


def test_basic_challenge_and_empty_header() -> None:
    challenge = parse_challenge('Basic realm="Registry Realm"')
    assert challenge is not None and challenge.scheme == "basic"
    assert challenge.params["realm"] == "Registry Realm"
    assert parse_challenge("") is None


def test_scopes() -> None:
    assert scope_pull("a/b") == "repository:a/b:pull"
    assert scope_push("a/b") == "repository:a/b:pull,push"


def test_a_credential_never_shows_its_secret() -> None:
    cred = Credential("alice", "s3cr3t", "test")
    assert "s3cr3t" not in repr(cred) and "s3cr3t" not in str(cred)
