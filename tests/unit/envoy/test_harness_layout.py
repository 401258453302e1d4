"""The harness layout (a bootstrap without its ports and paths) and its memory: what a later
run may start Envoy from before its suite is validated. No process starts here."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.envoy.harness import (
    MAX_LAYOUTS,
    EarlyStart,
    FilterVariant,
    Layout,
    early_start_key,
    render_layout,
)
from wasmkit.filter import FailurePolicy

LAYOUT = Layout(
    filter_name="f",
    module_path=Path("/m/filter.wasm"),
    variants=(
        FilterVariant(0, "root", "world", FailurePolicy.FAIL_CLOSED),
        FilterVariant(2, "", '{"a":1}', FailurePolicy.FAIL_OPEN),
    ),
    clusters=("web",),
    route_metadata={"ns": {"k": "v"}},
)


def test_a_layout_survives_json() -> None:
    assert Layout.from_json(json.loads(json.dumps(LAYOUT.to_json()))) == LAYOUT


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(variants=[["0", "root", "world", "FAIL_CLOSED"]]),
        lambda d: d.update(variants=[[0, "root", "world", "MAYBE"]]),
        lambda d: d.update(variants=[[0, "root"]]),
        lambda d: d.update(clusters="web"),
        lambda d: d.update(routeMetadata={"ns": ["k"]}),
        lambda d: d.update(routeMetadata={"ns": {"k": 1}}),
        lambda d: d.update(filterName=["f"]),
        lambda d: d.pop("modulePath"),
    ],
)
def test_a_layout_of_another_shape_is_refused(damage) -> None:  # type: ignore[no-untyped-def]
    data = LAYOUT.to_json()
    damage(data)
    with pytest.raises((ValueError, TypeError, KeyError, AttributeError)):
        Layout.from_json(data)


def test_the_bootstrap_has_a_listener_per_variant_named_by_its_index() -> None:
    text = render_layout(LAYOUT, upstream_port=5, run_dir=Path("/run"), clusters={"web": 6})
    data = yaml.safe_load(text)["static_resources"]
    assert [x["name"] for x in data["listeners"]] == ["variant-0", "variant-2"]
    wasm = data["listeners"][1]["filter_chains"][0]["filters"][0]["typed_config"]
    config = wasm["http_filters"][0]["typed_config"]["config"]
    assert config["vm_config"]["vm_id"] == "f-2"
    assert config["vm_config"]["code"]["local"]["filename"] == "/m/filter.wasm"
    assert [c["name"] for c in data["clusters"]] == ["upstream", "web"]


def test_what_a_run_used_is_remembered_and_recalled(tmp_path: Path) -> None:
    memory = EarlyStart("k", tmp_path)
    assert memory.recall() is None
    memory.remember(LAYOUT)
    assert EarlyStart("k", tmp_path).recall() == LAYOUT
    assert EarlyStart("other", tmp_path).recall() is None


def test_a_layout_with_grpc_services_is_not_remembered(tmp_path: Path) -> None:
    memory = EarlyStart("k", tmp_path)
    memory.remember(Layout("f", Path("/m.wasm"), LAYOUT.variants, grpc_clusters=("authz",)))
    assert memory.recall() is None


@pytest.mark.parametrize("content", [b"{", b"[]", b'{"filterName": 1}', b"x" * (2 << 20)])
def test_a_damaged_memory_is_ignored(tmp_path: Path, content: bytes) -> None:
    memory = EarlyStart("k", tmp_path)
    memory.path.parent.mkdir(parents=True)
    memory.path.write_bytes(content)
    assert memory.recall() is None


def test_no_early_envoy_for_another_module_path(tmp_path: Path) -> None:
    memory = EarlyStart("k", tmp_path)
    memory.remember(LAYOUT)
    memory.start(EnvoyBinary(tmp_path / "no-envoy", "1"), Path("/m/other.wasm"))
    assert memory.early is None
    assert memory.take(LAYOUT, EnvoyBinary(tmp_path / "no-envoy", "1")) is None


def test_an_envoy_that_cannot_start_is_no_early_envoy(tmp_path: Path) -> None:
    memory = EarlyStart("k", tmp_path)
    memory.remember(LAYOUT)
    memory.start(EnvoyBinary(tmp_path / "no-envoy", "1"), LAYOUT.module_path)
    assert memory.early is None  # the run itself reports the missing binary


def test_the_memory_keeps_the_newest_layouts(tmp_path: Path) -> None:
    for i in range(MAX_LAYOUTS + 3):
        EarlyStart(f"k{i}", tmp_path).remember(LAYOUT)
        os.utime(tmp_path / "test-layouts" / f"k{i}.json", (i, i))
    kept = sorted(p.stem for p in (tmp_path / "test-layouts").glob("*.json"))
    assert len(kept) == MAX_LAYOUTS and "k0" not in kept and f"k{MAX_LAYOUTS + 2}" in kept


def test_the_key_tells_its_parts_apart() -> None:
    assert early_start_key("ab", "c") != early_start_key("a", "bc")
    assert early_start_key(b"suite", None) != early_start_key(b"suite", "")
    assert early_start_key(b"suite", {"a": 1}) == early_start_key(b"suite", {"a": 1})
