"""Round trip: a module pushed, removed, pulled back and tested in a real Envoy with the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.oci.conftest import Result
from tests.integration.oci.servers import Registry

pytestmark = [pytest.mark.registry, pytest.mark.envoy]


def test_push_rm_pull_then_wasmkit_test_passes(
    registry: Registry, wasmkit: Callable[..., Result], module: Path
) -> None:
    ref = registry.ref("filters/add-header:v1")
    pushed = wasmkit(
        "push", ref, "--module", str(module), "--root-id", "add_header", "--plain-http"
    )
    assert pushed.code == 0, pushed.err
    assert wasmkit("rm", ref).code == 0
    pulled = wasmkit("pull", ref, "--plain-http", "--json")
    assert pulled.code == 0, pulled.err
    stored = Path(json.loads(pulled.out)["module"])
    assert stored.read_bytes() == module.read_bytes()
    tested = wasmkit("test", str(REPO / "examples" / "add-header"), "--module", str(stored))
    assert tested.code == 0, tested.out + tested.err
    assert "5 passed" in tested.out + tested.err
