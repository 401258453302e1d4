"""Benchmark: 10- and 100-case suites through `wasmkit test` vs a bare Envoy + curl script.

Both sides start the same Envoy config (the harness bootstrap wasmkit renders) and send
the same 10 requests; the bare side is a shell script with fixed ports, no checks and no
report. Runs alternate, so machine noise hits both. Prints medians and ratios per size,
the cost of one more case on each side, and wasmkit's fixed cost (target: <= 1.5x at 10 cases).

wasmkit is measured as an installed product runs: from this checkout (PYTHONPATH is set to it)
with its bytecode compiled first (`compileall` into __pycache__), as a wheel's install does.
Without that, an environment with PYTHONDONTWRITEBYTECODE=1 compiles every wasmkit module from
source on every run. The baseline is not affected (a shell script, Envoy, curl, http.server).

wasmkit's timed runs repeat one suite, as a developer's reruns do: they start Envoy from the
layout the warm-up run remembered (wasmkit.envoy.harness; a cache dir private to the bench).
A first run of a suite (or one after the suite changed) has no layout to start from: it is
timed too, each in an empty cache dir. The line "python -c pass" is this machine's interpreter
start-up alone (site-packages' .pth hooks included), which every wasmkit run pays first.

    python bench/harness.py [--runs 7] [--against OLD_CHECKOUT]
"""

from __future__ import annotations

import argparse
import compileall
import os
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

SIZES = (10, 100)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def suite(size: int) -> dict[str, object]:
    cases = []
    for i in range(size):
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


def bare_script(work: Path, module: Path, envoy: Path, size: int) -> Path:
    up_port, port = free_port(), free_port()
    block = envoy_wasm_filter(
        FilterSpec("bench", "add_header", LocalCode(str(module)), configuration="world")
    )
    config = work / f"bare-{size}.yaml"
    config.write_text(
        render_bootstrap(
            [Listener("l", block, port=port)], upstream_port=up_port, access_log="/dev/null"
        )
    )
    curls = []
    for case in suite(size)["cases"]:  # type: ignore[attr-defined]
        req = case.get("request", {})
        headers = " ".join(f"-H '{k}: {v}'" for k, v in req.get("headers", {}).items())
        url = f"http://127.0.0.1:{port}{req.get('path', '/')}"
        curls.append(f"curl -s -o /dev/null -D - {headers} {url} > /dev/null")
    script = work / f"bare-{size}.sh"
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


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> float:
    start = time.perf_counter()
    # In the checkout: `python -m` looks in the current directory before PYTHONPATH.
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="also time the wasmkit of another checkout (e.g. a worktree of an older commit), "
        "in the same alternation: a before/after in one window",
    )
    args = parser.parse_args()
    if not shutil.which("curl"):
        raise SystemExit("curl is needed for the baseline (apt-get install curl)")
    work = Path(tempfile.mkdtemp(prefix="wasmkit-bench-"))
    module = work / "filter.wasm"
    module.write_bytes(wasmtime.wat2wasm((REPO / "tests/fixtures/wat/add_header.wat").read_text()))
    envoy = find_envoy().path
    other = args.against.resolve() if args.against else None
    for checkout in (REPO, other) if other else (REPO,):
        if not compileall.compile_dir(checkout / "wasmkit", quiet=1):
            raise SystemExit(f"compiling the bytecode of {checkout / 'wasmkit'} failed")
    other_env = {**os.environ, "PYTHONPATH": str(other), "XDG_CACHE_HOME": str(work / "other")}
    wasmkit_env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(work / "cache")}
    python_alone = statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(9))
    print(
        f"Envoy {envoy}; medians of {args.runs} alternating runs;"
        f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())};"
        f" python -c pass {python_alone * 1000:.0f} ms"
    )
    medians: dict[int, tuple[float, float]] = {}
    for size in SIZES:
        tests = work / f"tests-{size}.yaml"
        tests.write_text(yaml.safe_dump(suite(size)))
        script = bare_script(work, module, envoy, size)
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
        timed(wasmkit_cmd, wasmkit_env)  # warm the page cache
        timed(bare_cmd)
        if other:
            timed(wasmkit_cmd, other_env, cwd=other)
        ours, bare, first, theirs = [], [], [], []
        for run in range(args.runs):
            ours.append(timed(wasmkit_cmd, wasmkit_env))
            bare.append(timed(bare_cmd))
            empty = {**wasmkit_env, "XDG_CACHE_HOME": str(work / f"empty-{size}-{run}")}
            first.append(timed(wasmkit_cmd, empty))
            if other:
                theirs.append(timed(wasmkit_cmd, other_env, cwd=other))
        m_ours, m_bare, m_first = map(statistics.median, (ours, bare, first))
        medians[size] = (m_ours, m_bare)
        print(
            f"{size:4d} cases: bare Envoy + curl {m_bare * 1000:7.1f} ms"
            f" | wasmkit test {m_ours * 1000:7.1f} ms | ratio {m_ours / m_bare:.2f}x"
            f" | first run of the suite {m_first * 1000:7.1f} ms ({m_first / m_bare:.2f}x)"
        )
        if theirs:
            m_theirs = statistics.median(theirs)
            print(f"{'':11s}{other}: {m_theirs * 1000:7.1f} ms ({m_theirs / m_bare:.2f}x)")
    (small, large) = SIZES
    per_ours = (medians[large][0] - medians[small][0]) / (large - small) * 1000
    per_bare = (medians[large][1] - medians[small][1]) / (large - small) * 1000
    print(
        f"per extra case: bare {per_bare:.2f} ms | wasmkit {per_ours:.2f} ms"
        f" | ratio {per_ours / per_bare:.2f}x"
    )
    print(
        f"fixed cost beyond the bare run: {(medians[small][0] - medians[small][1]) * 1000:.0f} ms "
        "(Python start-up and imports, the module check, reports)"
    )
    print("target: <= 1.5x for the 10-case suite")
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
