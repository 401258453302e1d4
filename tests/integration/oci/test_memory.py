"""Blobs stream: pushing and pulling a big module costs the wasmkit process little memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.oci.fake_registry import wasm_of_size
from tests.integration.oci.servers import Registry
from wasmkit.oci import LocalStore

pytestmark = [pytest.mark.registry, pytest.mark.slow]

MiB = 1024 * 1024


def _peak_rss(argv: list[str], env: dict[str, str]) -> int:
    """VmHWM (bytes) of the process after exec, sampled until it exits."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    expected = b"\0".join(a.encode() for a in argv) + b"\0"
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        except OSError:
            break
        if cmdline == expected:  # exec'd: no longer the pytest process's forked copy
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        time.sleep(0.002)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    return peak


def test_push_and_pull_of_64_mib_grow_memory_less_than_16_mib(
    registry: Registry, store: LocalStore, home: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "WASMKIT_HOME": str(home)}
    cli = [sys.executable, "-m", "wasmkit"]
    peaks = {}
    for name, size in (("small", 1024), ("big", 64 * MiB)):
        module = tmp_path / f"{name}.wasm"
        module.write_bytes(wasm_of_size(size))
        ref = registry.ref(f"mem/{name}:v1")
        store.add_module(module, ref, root_ids=[], abi_versions=[])
        push_peak = _peak_rss([*cli, "push", ref, "--plain-http"], env)
        pull_env = {**env, "WASMKIT_HOME": str(tmp_path / f"pull-{name}")}
        pull_peak = _peak_rss([*cli, "pull", ref, "--plain-http"], pull_env)
        peaks[name] = (push_peak, pull_peak)
    assert peaks["small"][0] > 10 * MiB  # the sampling saw the real process
    assert peaks["big"][0] - peaks["small"][0] < 16 * MiB, peaks
    assert peaks["big"][1] - peaks["small"][1] < 16 * MiB, peaks
