"""Fixtures for the operator tests: one real docker-registry per worker, images pushed to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import compile_wat
from tests.integration.oci.servers import Registry, run_registry
from wasmkit.oci import LocalStore, PushResult, push


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with run_registry(tmp_path_factory.mktemp("registry")) as r:
        yield r


@pytest.fixture(scope="session")
def publish(
    registry: Registry, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., PushResult]:
    """``publish("filters/x:v1", wat="add_header")`` pushes a filter image; returns the result."""
    work = tmp_path_factory.mktemp("publish")
    store = LocalStore(work / "home")

    def run(path: str, wat: str = "add_header", root_id: str = "add_header") -> PushResult:
        module: Path = compile_wat(wat, work)
        ref = registry.ref(path)
        store.add_module(module, ref, root_ids=[root_id], abi_versions=["0.2.1"])
        return push(store, ref, registry.options)

    return run


@pytest.fixture(scope="session")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """TLS (a CA of the test's own) and htpasswd: alice/wonderland may pull and push."""
    from tests.integration.oci.servers import htpasswd_block, make_ca

    directory = tmp_path_factory.mktemp("private")
    ca = make_ca(directory / "ca")
    auth = htpasswd_block(directory, {"alice": "wonderland"})
    with run_registry(directory / "registry", auth=auth, tls=ca) as r:
        yield r
