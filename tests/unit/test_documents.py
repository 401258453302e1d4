"""The one bounded loader of YAML/JSON documents (wasmkit._documents)."""

from __future__ import annotations

import pytest

from tests.integration.hostile.test_documents import alias_bomb
from wasmkit._documents import MAX_DEPTH, MAX_NODES, load_json, load_yaml
from wasmkit.errors import InputFileError


def test_anchors_aliases_and_merge_keys_of_ordinary_files_still_load() -> None:
    text = "base: &b {path: /, headers: {a: b}}\ncases:\n  - <<: *b\n    name: one\n  - *b\n"
    data = load_yaml(text, "t.yaml")
    assert data["cases"][0] == {"path": "/", "headers": {"a": "b"}, "name": "one"}
    assert data["cases"][1]["headers"] == {"a": "b"}


def test_the_alias_bomb_is_refused_at_once() -> None:
    with pytest.raises(InputFileError, match=f"more than {MAX_NODES} nodes") as caught:
        load_yaml(alias_bomb(), "bomb.yaml")
    assert caught.value.exit_code == 2 and caught.value.hint
    assert caught.value.source == "bomb.yaml"


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1, 100_000])
def test_depth_is_bounded_for_yaml_and_json(depth: int) -> None:
    text = "[" * depth + "]" * depth
    if depth <= MAX_DEPTH:
        assert load_yaml(text, "d.yaml") is not None and load_json(text, "d", max_bytes=10**6)
        return
    with pytest.raises(InputFileError, match="nested deeper"):
        load_yaml(text, "d.yaml")
    with pytest.raises(InputFileError, match="nested deeper"):
        load_json(text, "d", max_bytes=10**6)


def test_a_deep_document_through_aliases_is_refused() -> None:
    levels = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [[[[[[[[[[*a{i - 1}]]]]]]]]]]" for i in range(1, 8)]
    with pytest.raises(InputFileError, match="nested deeper"):
        load_yaml("\n".join(levels), "d.yaml")


def test_a_recursive_alias_is_refused() -> None:
    with pytest.raises(InputFileError, match="cycle"):
        load_yaml("a: &a [1, *a]\n", "r.yaml")


def test_json_size_and_syntax() -> None:
    with pytest.raises(InputFileError, match="larger than 10 bytes"):
        load_json(b'{"a": "0123456789"}', "big", max_bytes=10)
    with pytest.raises(InputFileError, match="not valid JSON"):
        load_json(b"\xff{", "bad", max_bytes=100)
    with pytest.raises(InputFileError, match="not valid JSON"):
        load_json("1" * 5000, "digits", max_bytes=10_000)  # Python's int-from-str limit
