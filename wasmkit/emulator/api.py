"""The emulator's entry points: start a filter as Envoy would, answer its HTTP calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from wasmkit.emulator._wasm import Limits
from wasmkit.emulator.context import HttpCall, HttpCallResponse, Responder
from wasmkit.emulator.plugin import Filter, FilterSettings
from wasmkit.emulator.wat import module_file
from wasmkit.emulator.world import World
from wasmkit.errors import LoadFailure, ModuleLoadError
from wasmkit.filter import FailurePolicy, plugin_configuration
from wasmkit.module import ModuleInfo, inspect_bytes, load_bytes


def canned_responder(
    responses: Sequence[HttpCallResponse] | Mapping[str, HttpCallResponse],
) -> Responder:
    """Answer HTTP calls from a list (in order) or by cluster name; others: no such cluster."""
    if isinstance(responses, Mapping):
        by_cluster = dict(responses)

        def by_name(call: HttpCall) -> HttpCallResponse | None:
            return by_cluster.get(call.cluster)

        return by_name
    queue = list(responses)

    def in_order(call: HttpCall) -> HttpCallResponse | None:
        return queue.pop(0) if queue else None

    return in_order


def start_filter(
    data: bytes, settings: FilterSettings, info: ModuleInfo | None = None, **kwargs: object
) -> Filter:
    """Start ``data`` as configured; ModuleLoadError (with Envoy's words) if it does not load.

    ``info`` saves inspecting the module again when the caller already did.
    """
    from wasmkit.errors import ModuleError

    try:
        info = info or inspect_bytes(data)
    except ModuleError:
        raise ModuleLoadError(
            "Failed to parse corrupted Wasm module",
            hint="the file is not a valid WebAssembly module",
        ) from None
    try:
        return Filter(data, info, settings, **kwargs)  # type: ignore[arg-type]
    except LoadFailure as exc:
        raise ModuleLoadError(
            exc.reason,
            hint="the emulator refused the module the way Envoy would; see the details",
            details=exc.details,
        ) from None


def load_filter(
    module: str | Path | bytes,
    *,
    root_id: str = "",
    configuration: str | bytes | Mapping[str, Any] | list[Any] = b"",
    failure_policy: FailurePolicy | str = FailurePolicy.FAIL_CLOSED,
    name: str = "filter",
    http_calls: Responder | Sequence[HttpCallResponse] | Mapping[str, HttpCallResponse] = (),
    world: World | None = None,
    limits: Limits | None = None,
) -> Filter:
    """Load a module (``.wasm``, ``.wat`` or bytes) and start it as Envoy would.

    ``configuration`` is the plugin configuration: bytes or text as they are, a mapping or
    list as compact JSON (what ``config:`` in a test file becomes). ``http_calls`` answers
    the filter's HTTP calls: a function of the call, a list (in order) or a mapping by
    cluster name. ModuleLoadError, with Envoy's reason, if Envoy would refuse the module.
    """
    data = module if isinstance(module, bytes) else load_bytes(module_file(Path(module)))
    responder = http_calls if callable(http_calls) else canned_responder(http_calls)
    settings = FilterSettings(
        name=name,
        root_id=root_id,
        configuration=configuration
        if isinstance(configuration, bytes)
        else plugin_configuration(configuration).encode(),
        failure_policy=FailurePolicy(failure_policy),
    )
    return start_filter(data, settings, world=world, responder=responder, limits=limits or Limits())
