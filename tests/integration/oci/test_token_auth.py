"""Token auth (``auth: token:``) with scoped JWTs from a token server of the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.oci.servers import Registry, TokenServer, free_port
from wasmkit.errors import ServiceUnavailable
from wasmkit.oci import AuthError, LocalStore, RegistryOptions, login, pull, push

pytestmark = pytest.mark.registry


def _login(store: LocalStore, registry: Registry, user: str, password: str) -> None:
    login(store, registry.host, user, password, registry.options)


def test_push_and_pull_with_per_repository_per_action_tokens(
    token_registry: tuple[Registry, TokenServer], store: LocalStore, module: Path
) -> None:
    registry, tokens = token_registry
    ref = registry.ref("team/add-header:v1")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    _login(store, registry, "alice", "wonderland")
    before = len(tokens.requests)
    push(store, ref, registry.options)
    # one token for the whole push: its HEADs ask for pull,push already
    assert tokens.requests[before:] == [("alice", ["repository:team/add-header:pull,push"])]
    store.remove(ref)
    record = pull(store, ref, registry.options)
    assert record.root_ids == ("add_header",)
    asked = [scope for user, scopes in tokens.requests for scope in scopes if user == "alice"]
    assert "repository:team/add-header:pull,push" in asked
    assert "repository:team/add-header:pull" in asked
    # never a token for a repository or action the operation did not need
    assert all(s.startswith("repository:team/add-header:") for s in asked)


def test_anonymous_pull_of_a_public_repository(
    token_registry: tuple[Registry, TokenServer], store: LocalStore, module: Path, tmp_path: Path
) -> None:
    registry, tokens = token_registry
    ref = registry.ref("public/add-header:v1")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    _login(store, registry, "alice", "wonderland")
    push(store, ref, registry.options)
    other = LocalStore(tmp_path / "anonymous-home")
    record = pull(other, ref, registry.options)
    assert record.module_sha256 == store.resolve(ref).module_sha256
    assert ("", ["repository:public/add-header:pull"]) in tokens.requests


def test_anonymous_push_is_refused_with_a_login_hint(
    token_registry: tuple[Registry, TokenServer], store: LocalStore, module: Path
) -> None:
    registry, _ = token_registry
    ref = registry.ref("public/add-header:v1")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    with pytest.raises(AuthError) as caught:
        push(store, ref, registry.options)
    assert "requires authentication" in caught.value.message
    assert caught.value.hint and f"wasmkit login {registry.host}" in caught.value.hint
    assert caught.value.exit_code == 2


def test_a_pull_only_user_cannot_push(
    token_registry: tuple[Registry, TokenServer], store: LocalStore, module: Path
) -> None:
    registry, _ = token_registry
    ref = registry.ref("team/add-header:v1")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    _login(store, registry, "bob", "builder")
    with pytest.raises(AuthError) as caught:
        push(store, ref, registry.options)
    assert "not allowed" in caught.value.message


def test_login_with_a_wrong_password_saves_nothing(
    token_registry: tuple[Registry, TokenServer], store: LocalStore
) -> None:
    registry, _ = token_registry
    with pytest.raises(AuthError) as caught:
        _login(store, registry, "alice", "not-the-password")
    assert "rejected" in caught.value.message
    assert "not-the-password" not in str(caught.value) + (caught.value.hint or "")
    assert not (store.home / "credentials.json").exists()


def test_an_unreachable_registry_is_an_environment_problem(store: LocalStore) -> None:
    options = RegistryOptions(plain_http=True, timeout=2)
    with pytest.raises(ServiceUnavailable) as caught:
        pull(store, f"127.0.0.1:{free_port()}/x/y:v1", options)
    assert caught.value.exit_code == 3


def test_cross_repository_mount_asks_for_both_scopes_in_one_token(
    token_registry: tuple[Registry, TokenServer], store: LocalStore, module: Path
) -> None:
    registry, tokens = token_registry
    first = registry.ref("team/add-header:v1")
    store.add_module(module, first, root_ids=["add_header"], abi_versions=["0.2.1"])
    _login(store, registry, "alice", "wonderland")
    push(store, first, registry.options)
    second = registry.ref("other/add-header:v1")
    store.tag(first, second)
    result = push(store, second, registry.options)
    assert len(result.mounted) == 2 and not result.uploaded
    assert (
        "alice",
        sorted(["repository:other/add-header:pull,push", "repository:team/add-header:pull"]),
    ) in [(user, sorted(scopes)) for user, scopes in tokens.requests]
