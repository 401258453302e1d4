"""Shared fixtures: paths to the fixture tree and WAT filters compiled on demand."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import wasmtime

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


def compile_wat(name: str, directory: Path) -> Path:
    """Compile tests/fixtures/wat/<name>.wat to directory/<name>.wasm."""
    out = directory / f"{name}.wasm"
    out.write_bytes(wasmtime.wat2wasm((FIXTURES / "wat" / f"{name}.wat").read_text()))
    return out


@pytest.fixture
def wat(tmp_path: Path):  # type: ignore[no-untyped-def]
    """``wat("add_header")`` -> path of the compiled module."""
    return lambda name: compile_wat(name, tmp_path)


# --- A real kube-apiserver (tests/kube_server.py), one per xdist worker ------------------------


def _missing(reason: str) -> None:
    """Fail in CI (a missing binary is a broken setup), skip for a developer running a subset."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kube_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """etcd + kube-apiserver on loopback, RBAC on, Istio's CRDs installed (session scope)."""
    from tests.kube_server import KubeBinariesMissing, istio_crds, kube_binaries, run_kube_server

    try:
        binaries, crds = kube_binaries(), istio_crds()
    except KubeBinariesMissing as exc:
        _missing(str(exc))
    with run_kube_server(tmp_path_factory.mktemp("kube"), crds=crds, binaries=binaries) as server:
        yield server


@pytest.fixture
def kube_namespace(kube_server) -> str:  # type: ignore[no-untyped-def]
    """A fresh namespace per test: tests share the apiserver, never their objects."""
    return str(kube_server.create_namespace())


@pytest.fixture(scope="session")
def world(kube_server, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The operator and two node caches (node-a, node-b) on the session's apiserver: defined
    here, once, so the operator tests and the walkthrough share one (a fixture imported into
    two conftests would start two)."""
    from tests.integration.operator.world import make_world

    with make_world(kube_server, tmp_path_factory.mktemp("operator")) as w:
        w.start_cache("node-a")
        w.start_cache("node-b")
        w.start_operator()
        yield w
