"""Benchmark: a 10-case suite through Istio (`wasmkit test --istio`) vs plain `wasmkit test`.

Both sides are wasmkit's one library call behind the CLI (``tasks.test.run_filter_tests``) on
the same module and suite: the baseline starts one Envoy with the filter in its bootstrap; the
Istio side starts istiod (configDir mode), renders the deploy objects, validates them with
Istio's own webhook code, starts the release's Envoy as a sidecar, checks the filter reached
the listener, and runs the same cases. Binaries are cached (``wasmkit istio install``; the
release's Envoy downloaded once). Runs alternate so machine noise hits both. Prints medians,
the ratio and the slowest Istio run, twice: as library calls (no Python start-up on either
side, the strict comparison) and as the commands a user types (`wasmkit test` vs `wasmkit test
--istio`, each a new process). Target: ratio < 2x, and never more than 10 s.

    python bench/istio_loop.py [--runs 5] [--istio 1.29] [--api envoyfilter|wasmplugin]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.harness import suite as harness_suite  # noqa: E402
from wasmkit.emulator.wat import module_file  # noqa: E402
from wasmkit.tasks.test import TestRequest, run_filter_tests  # noqa: E402

CASES = 10


def suite(json_config: bool) -> dict[str, object]:
    """bench/harness.py's suite; a WasmPlugin carries only a JSON configuration."""
    data = harness_suite(CASES)
    if json_config:
        text = json.dumps(data).replace('"world"', '{"regex": "world"}')
        data = {**json.loads(text), "config": {"greeting": "world"}}
    return data


def timed(request: TestRequest) -> float:
    started = time.perf_counter()
    result = run_filter_tests(request)
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"the suite failed ({request.istio and 'istio'}): {result.load_error}")
    return elapsed


def timed_command(args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "wasmkit", "test", *args], capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"wasmkit test {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return elapsed


def report(what: str, label: str, plain_s: list[float], istio_s: list[float]) -> None:
    base, mesh = statistics.median(plain_s), statistics.median(istio_s)
    print(f"{what}: {CASES} cases, {len(plain_s)} runs each, median wall time")
    print(f"  {'wasmkit test':34s}{base:6.2f} s")
    print(f"  {label:34s}{mesh:6.2f} s  (slowest {max(istio_s):.2f} s)")
    print(f"  ratio {mesh / base:.2f}x (target < 2x; and < 10 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--istio", default="1.29")
    parser.add_argument("--api", default="envoyfilter", choices=["envoyfilter", "wasmplugin"])
    args = parser.parse_args()
    if "WASMKIT_ISTIO_CACHE" not in os.environ:
        ci = Path(os.environ.get("WASMKIT_CI_CACHE", Path.home() / ".cache/wasmkit-ci"))
        if (ci / "istio").is_dir():
            os.environ["WASMKIT_ISTIO_CACHE"] = str(ci / "istio")
    work = Path(tempfile.mkdtemp(prefix="wasmkit-bench-istio-"))
    module = module_file(REPO / "tests/fixtures/wat/add_header.wat")  # compiled once, cached
    tests = work / "tests.yaml"
    tests.write_text(yaml.safe_dump(suite(json_config=args.api == "wasmplugin")))
    plain = TestRequest(module=module, test_file=tests)
    istio = TestRequest(module=module, test_file=tests, istio=args.istio, istio_api=args.api)
    timed(plain), timed(istio)  # warm-up: page cache, the release's Envoy download
    plain_s: list[float] = []
    istio_s: list[float] = []
    for _ in range(args.runs):
        plain_s.append(timed(plain))
        istio_s.append(timed(istio))
    label = f"wasmkit test --istio {args.istio} ({args.api})"
    report("library calls", label, plain_s, istio_s)
    command = ["--module", str(module), "--file", str(tests)]
    mesh_command = [*command, "--istio", args.istio, "--api", args.api]
    plain_s, istio_s = [], []
    for _ in range(args.runs):
        plain_s.append(timed_command(command))
        istio_s.append(timed_command(mesh_command))
    report("commands", label, plain_s, istio_s)


if __name__ == "__main__":
    main()
