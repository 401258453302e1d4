"""Benchmark: a 10-case suite through `wasmkit test` vs a bare Envoy + curl script.

Both sides start the same Envoy config (the harness bootstrap wasmkit renders) and send
the same 10 requests; the bare side is a shell script with fixed ports, no checks and no
report. Runs alternate, so machine noise hits both. Prints medians and the ratio
(target: wasmkit <= 1.5x the bare script).

    python bench/harness.py [--runs 7]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import wasmtime
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from wasmkit.envoy.binary import find_envoy  # noqa: E402
from wasmkit.envoy.bootstrap import Listener, render_bootstrap  # noqa: E402
from wasmkit.filter import FilterSpec, LocalCode, envoy_wasm_filter  # noqa: E402

CASES = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def suite() -> dict[str, object]:
    cases = []
    for i in range(CASES):
        if i % 3 == 2:
            cases.append(
                {
                    "name": f"deny {i}",
                    "request": {"headers": {"x-deny": "1"}},
                    "expect": {"status": 403},
                }
            )
        else:
            cases.append(
                {
                    "name": f"hello {i}",
                    "request": {"path": f"/r/{i}", "headers": {"x-i": str(i)}},
                    "expect": {
                        "status": 200,
                        "headers": {"hello": "world"},
                        "upstreamHeaders": {"x-stamp": "world"},
                    },
                }
            )
    return {"rootId": "add_header", "config": "world", "cases": cases}


def bare_script(work: Path, module: Path, envoy: Path) -> Path:
    up_port, port = free_port(), free_port()
    block = envoy_wasm_filter(
        FilterSpec("bench", "add_header", LocalCode(str(module)), configuration="world")
    )
    config = work / "bare.yaml"
    config.write_text(
        render_bootstrap(
            [Listener("l", block, port=port)], upstream_port=up_port, access_log="/dev/null"
        )
    )
    curls = []
    for case in suite()["cases"]:  # type: ignore[attr-defined]
        req = case.get("request", {})
        headers = " ".join(f"-H '{k}: {v}'" for k, v in req.get("headers", {}).items())
        url = f"http://127.0.0.1:{port}{req.get('path', '/')}"
        curls.append(f"curl -s -o /dev/null -D - {headers} {url} > /dev/null")
    script = work / "bare.sh"
    script.write_text(
        f"""set -e
cd {work}
python3 -m http.server --bind 127.0.0.1 {up_port} >/dev/null 2>&1 & up=$!
rm -f admin.txt
{envoy} -c {config} --disable-hot-restart --concurrency 1 --admin-address-path admin.txt \\
  --log-path envoy.log -l info >/dev/null 2>&1 & envoy=$!
until [ -s admin.txt ] && curl -sf "http://$(cat admin.txt)/ready" >/dev/null; do sleep 0.005; done
{chr(10).join(curls)}
kill $envoy $up
wait $envoy $up 2>/dev/null || true
"""
    )
    return script


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not shutil.which("curl"):
        raise SystemExit("curl is needed for the baseline (apt-get install curl)")
    work = Path(tempfile.mkdtemp(prefix="wasmkit-bench-"))
    module = work / "filter.wasm"
    module.write_bytes(wasmtime.wat2wasm((REPO / "tests/fixtures/wat/add_header.wat").read_text()))
    tests = work / "tests.yaml"
    tests.write_text(yaml.safe_dump(suite()))
    envoy = find_envoy().path
    script = bare_script(work, module, envoy)
    wasmkit_cmd = [
        sys.executable,
        "-m",
        "wasmkit",
        "-q",
        "test",
        "--module",
        str(module),
        "--file",
        str(tests),
    ]
    bare_cmd = ["bash", str(script)]
    timed(wasmkit_cmd)  # warm caches (page cache, .pyc)
    timed(bare_cmd)
    ours, bare = [], []
    for _ in range(args.runs):
        ours.append(timed(wasmkit_cmd))
        bare.append(timed(bare_cmd))
    m_ours, m_bare = statistics.median(ours), statistics.median(bare)
    print(f"{CASES}-case suite, {args.runs} runs each, Envoy {envoy}")
    print(f"  bare Envoy + curl : median {m_bare * 1000:7.1f} ms  (min {min(bare) * 1000:.1f})")
    print(f"  wasmkit test      : median {m_ours * 1000:7.1f} ms  (min {min(ours) * 1000:.1f})")
    print(f"  ratio wasmkit/bare: {m_ours / m_bare:.2f}x  (target <= 1.5x)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
