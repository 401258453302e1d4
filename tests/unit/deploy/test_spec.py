"""resolve_spec: every refusal with its hint and exit code, and the choices --api auto makes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit.deploy.conftest import SEED_IMAGE
from wasmkit.deploy import (
    Api,
    DeployRequest,
    ModuleSource,
    PatchContext,
    WorkloadKind,
    parse_config,
    parse_labels,
    resolve_spec,
)
from wasmkit.deploy.inputs import MAX_CONFIG_BYTES
from wasmkit.errors import EXIT_USAGE, UsageError
from wasmkit.filter import FailurePolicy

BASE = DeployRequest(image=SEED_IMAGE.ref, id="myfilter", namespace="bookinfo")


def _refused(request: DeployRequest, version: str = "1.29", image=SEED_IMAGE) -> UsageError:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        resolve_spec(request, image, version)
    assert info.value.exit_code == EXIT_USAGE and info.value.hint
    return info.value


@pytest.mark.parametrize("bad", ["MyFilter", "my_filter", "-x", "x" * 64, ""])
def test_an_id_that_is_not_a_kubernetes_name_is_refused(bad: str) -> None:
    error = _refused(replace(BASE, id=bad))
    assert "not a valid Kubernetes name" in error.message and "63" in (error.hint or "")


def test_root_id_comes_from_the_image_or_the_flag() -> None:
    assert resolve_spec(BASE, SEED_IMAGE, "1.29").root_id == "add_header"
    assert resolve_spec(replace(BASE, root_id="other"), SEED_IMAGE, "1.29").root_id == "other"
    error = _refused(BASE, image=replace(SEED_IMAGE, root_ids=()))
    assert "names no root id" in error.message and "--root-id" in (error.hint or "")
    error = _refused(BASE, image=replace(SEED_IMAGE, root_ids=("a", "b")))
    assert "a, b" in error.message and "--root-id" in (error.hint or "")


def test_an_abi_the_target_istio_does_not_speak_is_refused_unless_ignored() -> None:
    image = replace(SEED_IMAGE, abi_versions=("0.2.1",))
    error = _refused(BASE, "1.5", image)
    assert "istio 1.5" in error.message and "0.1.0" in error.message
    assert "--ignore-version-check" in (error.hint or "")
    assert resolve_spec(replace(BASE, ignore_version_check=True), image, "1.5").root_id


def test_newer_istio_than_the_table_is_assumed_not_refused() -> None:
    spec = resolve_spec(BASE, SEED_IMAGE, "1.45.2")
    assert spec.platform.assumed and any("newer than" in n for n in spec.notes)


def test_auto_takes_wasmplugin_for_a_mapping_and_envoyfilter_for_a_string() -> None:
    mapping = replace(BASE, config=parse_config('{"greeting": "tomorrow"}'))
    assert resolve_spec(mapping, SEED_IMAGE, "1.29").api is Api.WASMPLUGIN
    string = resolve_spec(replace(BASE, config=parse_config("tomorrow")), SEED_IMAGE, "1.29")
    assert string.api is Api.ENVOYFILTER and "plain string" in string.notes[0]
    old = resolve_spec(mapping, SEED_IMAGE, "1.11")
    assert old.api is Api.ENVOYFILTER and "no WasmPlugin" in old.notes[0]
    assert resolve_spec(BASE, SEED_IMAGE, "1.29").api is Api.WASMPLUGIN  # no config at all


def test_a_wasmplugin_cannot_carry_a_plain_string() -> None:
    error = _refused(replace(BASE, api=Api.WASMPLUGIN, config=parse_config("tomorrow")))
    assert "plain-string" in error.message and "--api envoyfilter" in (error.hint or "")
    error = _refused(replace(BASE, api=Api.WASMPLUGIN), "1.11")
    assert "no WasmPlugin" in error.message


def test_sources_fit_their_api() -> None:
    assert (
        resolve_spec(replace(BASE, api=Api.ENVOYFILTER), SEED_IMAGE, "1.29").source
        is ModuleSource.CACHE
    )
    assert (
        resolve_spec(replace(BASE, api=Api.WASMPLUGIN), SEED_IMAGE, "1.29").source
        is ModuleSource.OCI
    )
    _refused(replace(BASE, api=Api.WASMPLUGIN, source=ModuleSource.CACHE))
    _refused(replace(BASE, api=Api.ENVOYFILTER, source=ModuleSource.OCI))


def test_fail_reload_needs_an_istio_whose_envoy_has_it() -> None:
    request = replace(BASE, api=Api.ENVOYFILTER, failure_policy=FailurePolicy.FAIL_RELOAD)
    assert "FAIL_RELOAD" in (_refused(request, "1.18").hint or "")
    assert resolve_spec(request, SEED_IMAGE, "1.19").failure_policy is FailurePolicy.FAIL_RELOAD


def test_config_from_a_file_and_its_limits(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text("greeting: tomorrow\nn: 2\n")
    config = parse_config("@c.yaml", base=tmp_path)
    assert config.data == {"greeting": "tomorrow", "n": 2}
    assert config.for_filter == '{"greeting":"tomorrow","n":2}'
    assert (
        parse_config("tomorrow").for_filter == "tomorrow" and parse_config("tomorrow").data is None
    )
    assert parse_config("[1, 2]").data is None
    (tmp_path / "big").write_bytes(b"x" * (MAX_CONFIG_BYTES + 1))
    with pytest.raises(UsageError, match="over"):
        parse_config(f"@{tmp_path / 'big'}")
    with pytest.raises(UsageError, match="cannot read"):
        parse_config(f"@{tmp_path / 'missing'}")


def test_labels_kinds_and_contexts_parse_with_hints() -> None:
    assert parse_labels(["app=details", "version=v1,tier=web"]) == {
        "app": "details",
        "version": "v1",
        "tier": "web",
    }
    for bad in ("app", "=x", "a=b c"):
        with pytest.raises(UsageError, match="bad label"):
            parse_labels([bad])
    assert WorkloadKind.parse("StatefulSets") is WorkloadKind.STATEFULSET
    with pytest.raises(UsageError, match="unknown workload kind") as info:
        WorkloadKind.parse("replicaset")
    assert "daemonset" in (info.value.hint or "")
    assert PatchContext.parse("outbound") is PatchContext.SIDECAR_OUTBOUND
    assert PatchContext.parse("GATEWAY") is PatchContext.GATEWAY
    with pytest.raises(UsageError, match="patch context"):
        PatchContext.parse("sideways")
