"""Istio's own validation (istio-check of the release CI builds) on what deploy renders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.kube.conftest import IMAGE
from tests.integration.oci.conftest import Result
from tests.unit.deploy.conftest import DETAILS, SEED_IMAGE
from tests.unit.deploy.test_render import CASES, _request, full_plugin_spec
from wasmkit.abi import find_platform
from wasmkit.deploy import ModuleSource, render_objects, resolve_spec
from wasmkit.deploy.validation import BLANKET_ADVISORY
from wasmkit.istio import IstioRelease, check_objects

pytestmark = [pytest.mark.istio, pytest.mark.kube]


def _render(api: str, version: str, source: ModuleSource) -> list[dict[str, Any]]:
    config = "greeting: tomorrow" if api == "wasmplugin" else "tomorrow"
    spec = resolve_spec(_request(api, source, config), SEED_IMAGE, version)
    return render_objects(spec, [DETAILS] if api == "envoyfilter" else None)


@pytest.mark.parametrize(("api", "version", "source"), CASES, ids=lambda v: str(v))
def test_every_rendered_object_is_valid_for_istio(
    api: str, version: str, source: ModuleSource, istio_release: IstioRelease
) -> None:
    verdict = check_objects(istio_release, _render(api, version, source))
    assert verdict.valid, verdict.errors()
    warnings = [w for w in verdict.warnings() if BLANKET_ADVISORY not in w]
    speaks_this_release = (
        find_platform("istio", version).envoy_filter
        == find_platform("istio", istio_release.minor).envoy_filter
    )
    if api == "wasmplugin" or speaks_this_release:
        assert warnings == []
    elif version == "1.5":  # the seed's form on a current Istio: silently matches nothing
        assert any("using deprecated filter name" in w for w in warnings), warnings


def test_a_wasmplugin_with_every_option_passes_istio(istio_release: IstioRelease) -> None:
    verdict = check_objects(istio_release, render_objects(full_plugin_spec(), None))
    assert verdict.valid and verdict.warnings() == [], (verdict.errors(), verdict.warnings())


def test_the_seeds_form_is_flagged_when_deployed_to_a_current_istio(
    deploy_cli: Callable[..., Result], make: Callable[..., Any]
) -> None:
    make("Deployment", "web", {"app": "web"})
    result = deploy_cli(
        "deploy", "istio", IMAGE, "--id", "f", "--istio-version", "1.5",
        "--ignore-version-check", "--config", "x", "--dry-run",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "the cluster runs istiod 1.29.1, but objects are rendered for 1.5" in result.err
    assert 'using deprecated filter name "envoy.http_connection_manager"' in result.err
    current = deploy_cli("deploy", "istio", IMAGE, "--id", "f", "--config", "x", "--dry-run")
    assert current.code == 0 and "warns" not in current.err, current.err
