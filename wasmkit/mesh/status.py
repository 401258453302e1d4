"""Did istiod's objects reach the proxy? Read from Envoy's ``/config_dump`` and istiod's syncz.

What a mesh never tells its users, made visible: whether a filter is in the inbound
listener's HTTP filter chain (an EnvoyFilter that matches nothing is loaded by istiod, ACKed
by Envoy and applied to no listener, silently), whether Envoy rejected an update (NACK: the
``error_state`` of a listener or ECDS resource, and ``lastError`` in istiod's ``/debug/syncz``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wasmkit.envoy.logs import parse_log
from wasmkit.filter import WASM_FILTER_NAME

HCM = "envoy.filters.network.http_connection_manager"
#: How istiod names the ECDS filter of a WasmPlugin in the listener (``<prefix><ns>.<name>``).
WASM_PLUGIN_PREFIX = "extensions.istio.io/wasmplugin/"


@dataclass(frozen=True)
class ListenerView:
    name: str
    #: Each HTTP filter in order; a Wasm filter as ``envoy.filters.http.wasm(<its name>)``.
    http_filters: tuple[str, ...]

    def wasm_filters(self) -> tuple[str, ...]:
        """The Wasm filters in the chain: inserted by an EnvoyFilter, or a WasmPlugin's (ECDS).

        Nothing else in the mesh-in-a-box adds one, so any of them is the object under test.
        """
        return tuple(
            f
            for f in self.http_filters
            if f.startswith(f"{WASM_FILTER_NAME}(") or f.startswith(WASM_PLUGIN_PREFIX)
        )


def _sections(config_dump: Mapping[str, Any], type_suffix: str) -> Iterator[Mapping[str, Any]]:
    for section in config_dump.get("configs", ()):
        if str(section.get("@type", "")).endswith(type_suffix):
            yield section


def _http_filter_label(entry: Mapping[str, Any]) -> str:
    name = str(entry.get("name", ""))
    config = entry.get("typed_config", {}).get("config", {})
    if name == WASM_FILTER_NAME and isinstance(config, Mapping) and config.get("name"):
        return f"{name}({config['name']})"
    return name


def listener_view(config_dump: Mapping[str, Any], listener: str) -> ListenerView | None:
    """The HTTP filters of ``listener`` as Envoy runs it, or None if Envoy has no such listener."""
    for section in _sections(config_dump, "ListenersConfigDump"):
        for dynamic in section.get("dynamic_listeners", ()):
            if dynamic.get("name") != listener:
                continue
            active = dynamic.get("active_state", {}).get("listener")
            if not active:
                return None
            labels: list[str] = []
            for chain in active.get("filter_chains", ()):
                for network_filter in chain.get("filters", ()):
                    if network_filter.get("name") != HCM:
                        continue
                    for entry in network_filter.get("typed_config", {}).get("http_filters", ()):
                        label = _http_filter_label(entry)
                        if label not in labels:
                            labels.append(label)
            return ListenerView(listener, tuple(labels))
    return None


def envoy_rejections(config_dump: Mapping[str, Any]) -> list[str]:
    """Envoy's own reasons for every update it rejected (listeners, ECDS filters, clusters)."""
    reasons: list[str] = []
    for suffix, key in (
        ("ListenersConfigDump", "dynamic_listeners"),
        ("EcdsConfigDump", "ecds_filters"),
        ("ClustersConfigDump", "dynamic_active_clusters"),
    ):
        for section in _sections(config_dump, suffix):
            for item in section.get(key, ()):
                details = item.get("error_state", {}).get("details")
                if details and details not in reasons:
                    reasons.append(str(details))
    return reasons


def istiod_rejections(syncz: Sequence[Mapping[str, Any]], proxy_id: str) -> list[str]:
    """``lastError`` of every resource type istiod saw the proxy NACK."""
    reasons: list[str] = []
    for proxy in syncz:
        if not str(proxy.get("proxy", "")).startswith(proxy_id):
            continue
        for status in (proxy.get("resources") or {}).values():
            error = status.get("lastError") if isinstance(status, Mapping) else None
            if error and error not in reasons:
                reasons.append(str(error))
    return reasons


#: A remote module (``--source http``) that Envoy gave up fetching: the listener still turns
#: active, and every request then fails (``wasm_fail_stream``) with nothing in any status.
_REMOTE_FETCH_FAILED = "Retry limit exceeded for fetching data from remote data source"
#: Said for every remote module, fetched or not.
_REMOTE_NOTICE = "remote code fetch is unstable"


def module_load_failures(envoy_log: str) -> list[str]:
    """Envoy's words for a module it accepted in its config but could not load."""
    found: list[str] = []
    for entry in parse_log(envoy_log):
        message = entry.message.strip()
        if _REMOTE_FETCH_FAILED in message:
            found.append(f"{message} (the module's http url did not answer)")
        elif (
            entry.logger == "wasm"
            and entry.level in ("error", "critical")
            and _REMOTE_NOTICE not in message
            and not message.startswith("wasm log ")  # the filter's own lines
        ):
            found.append(message)
    return list(dict.fromkeys(found))
