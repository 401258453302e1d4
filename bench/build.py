"""Benchmark: `wasmkit build` (cold and incremental) vs the bare toolchain commands it wraps.

Per language (cpp, assemblyscript, rust, go), in a project fresh from `wasmkit init`:

- bare: the language's steps run directly (same argv, placeholders expanded, no Python);
- wasmkit: `wasmkit build --runner local` as a process (CLI start-up, steps, runtime config,
  ABI/import checks, the root id check in Envoy validate mode);
- wasmkit --no-root-check: the same in-process minus Envoy's validate run, to show what
  the checks cost apart from wrapping the toolchain.

Cold = `--force` (all steps; caches warm, as after the first ever build). Incremental = one
source file edited. Unchanged = a second build with nothing edited (wasmkit skips it).
Runs alternate so machine noise hits both sides; medians and ratios wasmkit/bare are printed.
Targets: overhead <= 10%; incremental cpp <= 2 s, rust <= 5 s.

    python bench/build.py [--runs 5] [--languages cpp,assemblyscript]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import wasmkit.testing  # noqa: E402, F401  (load order: wasmkit.project needs it first)
from wasmkit.build.core import BuildOptions, _plan, build_project  # noqa: E402
from wasmkit.build.languages import get_language  # noqa: E402

SOURCES = {
    "cpp": "filter.cc",
    "assemblyscript": "assembly/index.ts",
    "rust": "src/lib.rs",
    "go": "main.go",
}


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")


def bare_build(project: Path) -> Callable[[], None]:
    plan = _plan(project, BuildOptions())
    ws = plan.workspace
    steps = plan.language.steps(plan.ctx)

    def go() -> None:
        ws.out.mkdir(parents=True, exist_ok=True)
        for step in steps:
            env = {**os.environ, **{k: ws.expand(v) for k, v in step.env.items()}}
            run([ws.expand(a) for a in step.argv], Path(ws.expand(step.cwd)), env)

    return go


def edit(project: Path, language: str, counter: list[int]) -> None:
    counter[0] += 1
    source = project / SOURCES[language]
    source.write_text(source.read_text() + f"\n// edit {counter[0]}\n")


def med(values: list[float]) -> float:
    return statistics.median(values)


def bench(
    language: str, runs: int, work: Path, root_check: str = "emulator"
) -> list[tuple[str, float, float]]:
    project = work / language
    cli = [sys.executable, "-m", "wasmkit"]
    run(
        [*cli, "init", str(project), "-l", language, "-p", "istio", "--platform-version", "1.28"],
        work,
    )
    run([*cli, "build", str(project), "--runner", "local", "--root-check", root_check], work)
    bare = bare_build(project)
    check = ["--root-check", root_check]
    wasmkit_cold = [*cli, "build", str(project), "--runner", "local", "--force", *check]
    wasmkit_inc = [*cli, "build", str(project), "--runner", "local", *check]
    no_check = BuildOptions(runner="local", force=True, root_check="none")
    counter = [0]
    rows: dict[str, list[float]] = {}

    def add(name: str, value: float) -> None:
        rows.setdefault(name, []).append(value)

    for _ in range(runs):
        add("cold bare", timed(bare))
        add("cold wasmkit", timed(lambda: run(wasmkit_cold, work)))
        add(
            "cold wasmkit in-process, no root check",
            timed(lambda: build_project(project, no_check)),
        )
        edit(project, language, counter)
        add("incremental bare", timed(bare))
        edit(project, language, counter)
        add("incremental wasmkit", timed(lambda: run(wasmkit_inc, work)))
        add("unchanged wasmkit (skipped)", timed(lambda: run(wasmkit_inc, work)))
    base_cold, base_inc = med(rows["cold bare"]), med(rows["incremental bare"])
    out = []
    for name, values in rows.items():
        base = base_inc if name.startswith(("incremental", "unchanged")) else base_cold
        out.append((name, med(values), med(values) / base))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--languages", default="cpp,assemblyscript,rust,go")
    parser.add_argument("--root-check", default="emulator", choices=["emulator", "envoy", "none"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wasmkit-bench-build-") as tmp:
        for language in args.languages.split(","):
            get_language(language)  # fails early for an unknown one
            print(
                f"\n{language} ({args.runs} runs, medians; ratio vs the bare commands; "
                f"root id check: {args.root_check})"
            )
            rows = bench(language, args.runs, Path(tmp), args.root_check)
            for name, seconds, ratio in rows:
                print(f"  {name:42s} {seconds:7.2f} s   {ratio:5.2f}x")


if __name__ == "__main__":
    main()
