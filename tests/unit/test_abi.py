"""The platforms table: versions -> Envoy, ABIs, EnvoyFilter form, WasmPlugin."""

from __future__ import annotations

import pytest

from wasmkit.abi import PLATFORM_TABLE, AbiVersion, EnvoyFilterForm, find_platform
from wasmkit.errors import UsageError


def test_istio_1_5_speaks_only_abi_0_1_0_with_v2_config_patches() -> None:
    row = find_platform("istio", "1.5.10")
    assert row.version == "1.5"
    assert row.abis == {AbiVersion.V0_1_0}
    assert row.preferred_abi is AbiVersion.V0_1_0
    assert row.envoy_filter is EnvoyFilterForm.V2_CONFIG
    assert not row.wasm_plugin


@pytest.mark.parametrize(
    ("version", "envoy", "form", "plugin"),
    [
        ("1.7", "1.15 (envoy-wasm fork)", EnvoyFilterForm.TYPED_V2_OR_V3, False),
        ("1.9", "1.17", EnvoyFilterForm.V3, False),
        ("1.12", "1.20", EnvoyFilterForm.V3, True),
        ("1.19", "1.27", EnvoyFilterForm.V3_NEW_NAMES, True),
        ("1.28", "1.36", EnvoyFilterForm.V3_NEW_NAMES, True),
        ("1.31.2", "1.39", EnvoyFilterForm.V3_NEW_NAMES, True),
    ],
)
def test_istio_rows(version: str, envoy: str, form: EnvoyFilterForm, plugin: bool) -> None:
    row = find_platform("istio", version)
    assert (row.envoy, row.envoy_filter, row.wasm_plugin) == (envoy, form, plugin)


@pytest.mark.parametrize(
    "version", ["1.5", "1.5.x", "1.5.X", "1.5.*", "1.5.3", "v1.5.10", " 1.5.x "]
)
def test_a_minor_is_accepted_as_release_notes_write_it(version: str) -> None:
    # The seed blog post types `--platform-version 1.5.x`.
    assert find_platform("istio", version).version == "1.5"


def test_abis_per_release_follow_istio_records() -> None:
    assert find_platform("istio", "1.7").abis == {AbiVersion.V0_1_0, AbiVersion.V0_2_0}
    assert find_platform("istio", "1.8").abis == set(AbiVersion)
    assert find_platform("istio", "1.30").preferred_abi is AbiVersion.V0_2_1


def test_every_current_istio_and_envoy_release_is_known() -> None:
    istio = {r.version for r in PLATFORM_TABLE if r.platform == "istio"}
    envoy = {r.version for r in PLATFORM_TABLE if r.platform == "envoy"}
    assert {f"1.{m}" for m in range(5, 32)} <= istio
    assert {"1.17", "1.36", "1.40"} <= envoy
    assert find_platform("envoy", "1.40").envoy_filter is None


def test_a_release_newer_than_the_table_is_assumed_like_the_newest() -> None:
    row = find_platform("istio", "1.35")
    assert row.assumed and row.version == "1.35"
    assert row.abis == find_platform("istio", "1.31").abis
    assert not find_platform("istio", "1.31").assumed


@pytest.mark.parametrize(
    ("platform", "version", "words"),
    [
        ("istio", "1.4", "cannot run Wasm filters"),
        ("istio", "0.9", "cannot run Wasm filters"),
        ("istio", "latest", "is not a version number"),
        ("istio", "1.5.y", "is not a version number"),
        ("istio", "1.x", "is not a version number"),
        ("envoy", "1.16", "cannot run Wasm filters"),
        ("linkerd", "2.14", "unknown platform"),
    ],
)
def test_unknown_versions_are_usage_errors(platform: str, version: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        find_platform(platform, version)
    assert words in caught.value.message
    assert caught.value.exit_code == 2
    assert caught.value.hint
