"""``wasmkit push``: store a module under a reference if one is given, then push the image."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from wasmkit.errors import UsageError
from wasmkit.oci.layout import Format
from wasmkit.oci.progress import Progress
from wasmkit.oci.store import LocalStore
from wasmkit.oci.transfer import PushResult, RegistryOptions, push


def push_image(
    store: LocalStore,
    ref: str,
    options: RegistryOptions,
    *,
    module: Path | None = None,
    root_ids: Sequence[str] = (),
    layout: Format | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Push ``ref`` from ``store``; with ``module``, store it under ``ref`` first."""
    if module is not None:
        from wasmkit.module import inspect_file  # only to store a module file first

        info = inspect_file(module)
        store.add_module(
            module,
            ref,
            root_ids=list(root_ids),
            abi_versions=[v.value for v in info.abi_versions],
            layout=layout or "compat",
        )
    elif root_ids:
        raise UsageError(
            "--root-id goes with --module", hint="wasmkit push REF --module f.wasm --root-id ID"
        )
    return push(store, ref, options, layout=layout, progress=progress)
