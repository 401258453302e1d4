"""Builder image recipes and their content-hash tags (no engine needed)."""

from __future__ import annotations

import io
import re
import tarfile

import pytest

from wasmkit.build.images import (
    BASE_ENV,
    DEFAULT_BASE,
    builder_image,
    image_from_containerfile,
    image_languages,
)
from wasmkit.errors import UsageError


def test_every_language_has_a_recipe() -> None:
    assert image_languages() == ["assemblyscript", "cpp", "go", "rust"]


@pytest.mark.parametrize("language", ["assemblyscript", "cpp", "go", "rust"])
def test_recipe_takes_its_base_from_the_build_argument(language: str) -> None:
    recipe = builder_image(language).containerfile
    assert f"ARG BASE={DEFAULT_BASE}" in recipe
    froms = [line for line in recipe.splitlines() if line.startswith("FROM")]
    assert froms == ["FROM ${BASE}"]


def test_tag_is_the_repository_and_a_content_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_ENV, raising=False)
    image = builder_image("cpp")
    assert re.fullmatch(r"localhost/wasmkit-builder-cpp:[0-9a-f]{12}", image.tag)
    assert image.build_args == {"BASE": DEFAULT_BASE}
    assert image.tag == builder_image("cpp").tag  # stable


def test_tag_changes_with_the_base_and_the_recipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BASE_ENV, raising=False)
    default = builder_image("cpp")
    other_base = builder_image("cpp", base="debian:bookworm")
    assert other_base.base == "debian:bookworm"
    assert other_base.tag != default.tag
    monkeypatch.setenv(BASE_ENV, "debian:bookworm")
    assert builder_image("cpp").tag == other_base.tag
    edited = image_from_containerfile("cpp", default.containerfile + "RUN true\n")
    assert edited.tag != other_base.tag


def test_build_args_order_does_not_matter() -> None:
    a = builder_image("go", base="b", build_args={"GO_VERSION": "1.24.1", "X": "1"})
    b = builder_image("go", base="b", build_args={"X": "1", "GO_VERSION": "1.24.1"})
    c = builder_image("go", base="b", build_args={"X": "2", "GO_VERSION": "1.24.1"})
    assert a.tag == b.tag != c.tag


def test_context_is_a_tar_with_the_recipe() -> None:
    image = builder_image("rust")
    with tarfile.open(fileobj=io.BytesIO(image.context_tar())) as tar:
        assert tar.getnames() == ["Containerfile"]
        member = tar.extractfile("Containerfile")
        assert member is not None
        assert member.read().decode() == image.containerfile


def test_unknown_language_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as caught:
        builder_image("cobol")
    assert caught.value.exit_code == 2
    assert caught.value.hint is not None and "cpp" in caught.value.hint
