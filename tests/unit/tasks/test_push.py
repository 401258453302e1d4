"""wasmkit.tasks.push: what `wasmkit push` checks before it talks to a registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmkit.errors import UnknownImage, UsageError
from wasmkit.oci.store import LocalStore
from wasmkit.oci.transfer import RegistryOptions
from wasmkit.tasks.push import push_image

# Nothing listens here: a test that reached the network would fail with exit 3, not these.
OPTIONS = RegistryOptions(plain_http=True, timeout=1.0)


def test_root_ids_without_a_module_are_refused_before_anything_else(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "home")
    with pytest.raises(UsageError, match="--root-id goes with --module"):
        push_image(store, "127.0.0.1:9/f:v1", OPTIONS, root_ids=("add_header",))


def test_a_reference_not_in_the_store_is_named(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "home")
    with pytest.raises(UnknownImage, match="no image"):
        push_image(store, "127.0.0.1:9/f:v1", OPTIONS)
