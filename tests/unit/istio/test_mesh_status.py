"""Reading Envoy's config dump and istiod's syncz: applied, not applied, rejected."""

from __future__ import annotations

from typing import Any

from wasmkit.mesh.status import envoy_rejections, istiod_rejections, listener_view
from wasmkit.mesh.workload import Workload, mtls_off


def _dump(http_filters: list[dict[str, Any]], error: str | None = None) -> dict[str, Any]:
    listener: dict[str, Any] = {
        "name": "127.0.0.1_9080",
        "active_state": {
            "listener": {
                "filter_chains": [
                    {
                        "filters": [
                            {
                                "name": "envoy.filters.network.http_connection_manager",
                                "typed_config": {"http_filters": http_filters},
                            }
                        ]
                    }
                ]
            }
        },
    }
    if error:
        listener["error_state"] = {"details": error}
    return {
        "configs": [
            {"@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump"},
            {
                "@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
                "dynamic_listeners": [listener],
            },
        ]
    }


ROUTER = {"name": "envoy.filters.http.router"}
WASM = {
    "name": "envoy.filters.http.wasm",
    "typed_config": {"config": {"name": "hello", "root_id": "add_header"}},
}
PLUGIN = {"name": "extensions.istio.io/wasmplugin/wasmkit-test.variant-0", "config_discovery": {}}


def test_an_inserted_wasm_filter_is_applied() -> None:
    view = listener_view(_dump([{"name": "istio.stats"}, WASM, ROUTER]), "127.0.0.1_9080")
    assert view is not None
    assert view.http_filters == ("istio.stats", "envoy.filters.http.wasm(hello)", ROUTER["name"])
    assert view.wasm_filters() == ("envoy.filters.http.wasm(hello)",)


def test_a_wasm_plugin_shows_as_its_ecds_filter() -> None:
    view = listener_view(_dump([PLUGIN, ROUTER]), "127.0.0.1_9080")
    assert view is not None and view.wasm_filters() == (PLUGIN["name"],)


def test_no_wasm_filter_and_no_listener() -> None:
    dump = _dump([{"name": "envoy.filters.http.fault"}, ROUTER])
    view = listener_view(dump, "127.0.0.1_9080")
    assert view is not None and view.wasm_filters() == ()
    assert listener_view(dump, "127.0.0.1_1") is None


def test_rejections_come_from_envoy_and_from_istiod() -> None:
    reason = "Invalid path: /nope.wasm"
    assert envoy_rejections(_dump([ROUTER], error=reason)) == [reason]
    syncz = [
        {"proxy": "variant-0-0.wasmkit-test", "resources": {"lds": {"lastError": reason}}},
        {"proxy": "other-0.x", "resources": {"lds": {"lastError": "not ours"}}},
    ]
    assert istiod_rejections(syncz, "variant-0-0.wasmkit-test") == [reason]


def test_workload_objects_bind_loopback_and_select_its_labels() -> None:
    workload = Workload("variant-1", 15001, 8081)
    sidecar = workload.sidecar()
    ingress = sidecar["spec"]["ingress"][0]
    assert ingress["bind"] == "127.0.0.1"
    assert ingress["defaultEndpoint"] == "127.0.0.1:8081"
    assert sidecar["spec"]["workloadSelector"]["labels"] == {"app": "variant-1"}
    assert workload.node_metadata("1.29.1")["LABELS"] == {"app": "variant-1"}
    assert workload.listener == "127.0.0.1_15001"
    assert mtls_off()["spec"] == {"mtls": {"mode": "DISABLE"}}


def test_module_load_failures_skip_the_remote_notice_and_the_filters_own_lines() -> None:
    from wasmkit.mesh.status import module_load_failures

    log = "\n".join(
        [
            "[2026-12-01 23:00:03.522][1][warning][wasm] [wasm.cc:319] Wasm remote code fetch is "
            "unstable and may cause a crash",
            "[2026-12-01 23:00:03.600][1][error][wasm] [context.cc:1] wasm log f add_header f-0: "
            "the filter's own error line",
            "[2026-12-01 23:00:04.264][1][warning][config] [remote_async_datasource.h:52] Retry "
            "limit exceeded for fetching data from remote data source.",
        ]
    )
    assert module_load_failures(log) == [
        "Retry limit exceeded for fetching data from remote data source. (the module's http url "
        "did not answer)"
    ]
