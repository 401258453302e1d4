"""Benchmark: `wasmkit push` / `wasmkit pull` vs `skopeo copy` of the same image, 2/20/100 MiB.

Each side pushes the same image bytes (wasmkit's stored compat image, exported as an OCI
layout for skopeo) to a fresh docker-registry, and pulls it back into an empty store (wasmkit)
or an empty OCI layout directory (skopeo). Every command is a separate process, runs alternate
so noise hits both, and medians are printed with the ratio wasmkit/skopeo (target <= 1.0x).
Requests: each side's HTTP requests per push and per pull, from its registry's access log (the
count a busy machine cannot blur).
The floor: an interpreter that imports click and http.client and exits, timed beside them; the
part of a small transfer that no Python CLI can remove.
Memory: the peak RSS (VmHWM, sampled) of the wasmkit process minus that of the same
command on a 1 KiB module: the growth that the transfer itself costs (target < 16 MiB at 100 MiB).

    python bench/oci_transfer.py [--runs 3] [--sizes 2,20,100] [--baseline DIR]

wasmkit runs as an installed product does: its bytecode is compiled first (`compileall` into
__pycache__, as a wheel's install does), or an environment with PYTHONDONTWRITEBYTECODE=1 would
compile every module from source on every run.

``--baseline DIR`` (a checkout of another wasmkit, e.g. ``git worktree add DIR main``) also
runs that wasmkit's push and pull on the same images, alternating with this one's, and prints
both side by side: wall time and CPU time (user+sys of the process, which a busy machine
disturbs far less than wall time).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.integration.oci.fake_registry import wasm_of_size  # noqa: E402
from tests.integration.oci.servers import Registry, run_registry  # noqa: E402
from wasmkit.oci import LocalStore  # noqa: E402

MiB = 1024 * 1024
#: what any Python CLI over HTTP pays before its first request, and nothing more
FLOOR = [sys.executable, "-c", "import click, http.client"]


def _hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def run(argv: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Run a command; return (seconds, peak RSS in KiB of the program itself, CPU seconds).

    VmHWM is sampled every 2 ms: it is the high-water mark of the program's own address space
    (ru_maxrss would also count the forked copy of this big benchmark process before exec).
    """
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    cpu = 0.0
    expected = b"\0".join(a.encode() for a in argv) + b"\0"
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:  # reaped here, so that its CPU time is known
            process.returncode = os.waitstatus_to_exitcode(status)
            cpu = usage.ru_utime + usage.ru_stime
            break
        try:  # after exec the command line is argv; before, it is this process's copy
            with open(f"/proc/{process.pid}/cmdline", "rb") as f:
                running = f.read() == expected
        except OSError:
            running = False
        hwm = _hwm_kib(process.pid) if running else None
        if hwm:
            peak = max(peak, hwm)
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(f"{' '.join(argv)} failed:\n{process.stderr.read().decode()}")
    return elapsed, peak, cpu


def served(registry: Registry) -> int:
    """Requests in the registry's access log so far, once it stopped growing (it is written
    as each answer completes, so the last line may trail the client's exit)."""
    count, deadline = -1, time.monotonic() + 2
    while time.monotonic() < deadline:
        now = sum(1 for line in registry.log.splitlines() if ' HTTP/1.1" ' in line)
        if now == count:
            break
        count = now
        time.sleep(0.05)
    return count


def export_layout(store: LocalStore, ref: str, directory: Path) -> None:
    """The stored image as an OCI image layout, for skopeo to push the very same bytes."""
    record = store.resolve(ref)
    manifest = store.manifest(record)
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for digest in [record.manifest_digest, *(d.digest for d in manifest.blobs)]:
        os.link(store.blob_path(digest), blobs / digest[7:])
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    entry = {
        "mediaType": manifest.media_type,
        "digest": record.manifest_digest,
        "size": len(manifest.raw),
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="2,20,100", help="module sizes in MiB")
    parser.add_argument("--baseline", type=Path, help="another wasmkit checkout to compare with")
    args = parser.parse_args()
    wasmkit = [sys.executable, "-m", "wasmkit"]
    for checkout in (REPO, *([args.baseline] if args.baseline else [])):
        if not compileall.compile_dir(checkout / "wasmkit", quiet=1):
            raise SystemExit(f"compiling the bytecode of {checkout / 'wasmkit'} failed")
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        raise SystemExit("skopeo is not installed (run .ci/setup)")
    rows = []
    floor: list[float] = []
    load_start = f"{os.getloadavg()[0]:.2f}"
    with tempfile.TemporaryDirectory(prefix="wasmkit-bench-oci-") as tmp_name:
        tmp = Path(tmp_name)
        src_home = tmp / "src-home"
        env = {**os.environ, "WASMKIT_HOME": str(src_home), "DOCKER_CONFIG": str(tmp / "docker")}
        store = LocalStore(src_home)
        sizes = [1 / 1024] + [float(s) for s in args.sizes.split(",")]
        for size in sizes:
            module = tmp / f"m{size}.wasm"
            module.write_bytes(wasm_of_size(max(int(size * MiB), 64)))
            name = f"m{int(size * 1024)}k"
            store.add_module(
                module, f"bench.local/{name}:v1", root_ids=["r"], abi_versions=["0.2.1"]
            )
            layout = tmp / f"layout-{name}"
            export_layout(store, f"bench.local/{name}:v1", layout)
            keys = (
                *("wpush", "spush", "wpull", "spull", "bpush", "bpull"),
                *("wpush_cpu", "wpull_cpu", "bpush_cpu", "bpull_cpu"),
            )
            results: dict[str, list[float]] = {k: [] for k in keys}
            rss: dict[str, list[int]] = {"push": [], "pull": []}
            asked: dict[str, int] = {}
            for i in range(args.runs):
                work = tmp / f"run-{name}-{i}"
                with (
                    run_registry(work / "registry-w") as reg_w,
                    run_registry(work / "registry-s") as reg_s,
                    run_registry(work / "registry-b") as reg_b,
                ):
                    ref_w = f"{reg_w.host}/bench/{name}:v1"
                    ref_s = f"{reg_s.host}/bench/{name}:v1"
                    run([*wasmkit, "tag", f"bench.local/{name}:v1", ref_w], env)
                    before_w, before_s = served(reg_w), served(reg_s)
                    seconds, peak, cpu = run([*wasmkit, "push", ref_w, "--plain-http"], env)
                    results["wpush"].append(seconds)
                    results["wpush_cpu"].append(cpu)
                    rss["push"].append(peak)
                    if args.baseline:
                        _baseline(args.baseline, name, reg_b.host, env, work, results)
                    seconds, _, _ = run(
                        [
                            skopeo,
                            "copy",
                            "-q",
                            "--dest-tls-verify=false",
                            f"oci:{layout}:v1",
                            f"docker://{ref_s}",
                        ],
                        env,
                    )
                    results["spush"].append(seconds)
                    pushed_w, pushed_s = served(reg_w), served(reg_s)
                    asked["wpush"], asked["spush"] = pushed_w - before_w, pushed_s - before_s
                    pull_env = {**env, "WASMKIT_HOME": str(work / "dst-home")}
                    seconds, peak, cpu = run([*wasmkit, "pull", ref_w, "--plain-http"], pull_env)
                    results["wpull"].append(seconds)
                    results["wpull_cpu"].append(cpu)
                    rss["pull"].append(peak)
                    seconds, _, _ = run(
                        [
                            skopeo,
                            "copy",
                            "-q",
                            "--src-tls-verify=false",
                            f"docker://{ref_s}",
                            f"oci:{work / 'skopeo-dst'}:v1",
                        ],
                        env,
                    )
                    results["spull"].append(seconds)
                    asked["wpull"] = served(reg_w) - pushed_w
                    asked["spull"] = served(reg_s) - pushed_s
                    run([*wasmkit, "rm", ref_w], env)
                shutil.rmtree(work, ignore_errors=True)
                floor.append(run(FLOOR, env)[0])
            med = {k: statistics.median(v) for k, v in results.items() if v}
            rows.append((size, med, max(rss["push"]), max(rss["pull"]), asked))
    base_push, base_pull = rows[0][2], rows[0][3]
    print(f"load average at the start and the end: {load_start} / {os.getloadavg()[0]:.2f}")
    print(
        f"{'module':>8} | {'push wasmkit':>12} {'skopeo':>7} {'ratio':>6} | "
        f"{'pull wasmkit':>12} {'skopeo':>7} {'ratio':>6} | {'RSS growth push':>15} {'pull':>6}"
        " | requests push / pull (wasmkit, skopeo)"
    )
    for size, med, push_rss, pull_rss, asked in rows:
        label = f"{size:g} MiB" if size >= 1 else "1 KiB"
        push_ratio = med["wpush"] / med["spush"]
        pull_ratio = med["wpull"] / med["spull"]
        print(
            f"{label:>8} | {med['wpush']:>11.2f}s {med['spush']:>6.2f}s {push_ratio:>5.2f}x | "
            f"{med['wpull']:>11.2f}s {med['spull']:>6.2f}s {pull_ratio:>5.2f}x | "
            f"{(push_rss - base_push) / 1024:>11.1f} MiB {(pull_rss - base_pull) / 1024:>5.1f} MiB"
            f" | {asked['wpush']}, {asked['spush']} / {asked['wpull']}, {asked['spull']}"
        )
    print(
        f"(medians of {args.runs} runs; RSS growth = peak RSS minus the 1 KiB run's "
        f"{base_push / 1024:.1f} / {base_pull / 1024:.1f} MiB; "
        "targets: ratio <= 1.0x, growth < 16 MiB)"
    )
    print(
        f"the floor of any Python CLI over HTTP (an interpreter that imports click and "
        f"http.client, then exits): {statistics.median(floor):.2f} s, median of {len(floor)}"
    )
    if args.baseline:
        _print_baseline(rows, args.baseline, args.runs)


def _baseline(
    directory: Path,
    name: str,
    host: str,
    env: dict[str, str],
    work: Path,
    results: dict[str, list[float]],
) -> None:
    """The baseline wasmkit's push and pull of the same image, to a registry of its own."""
    base_env = {**env, "PYTHONPATH": str(directory)}
    wasmkit = [sys.executable, "-m", "wasmkit"]
    ref = f"{host}/bench/{name}:v1"
    run([*wasmkit, "tag", f"bench.local/{name}:v1", ref], base_env)
    seconds, _, cpu = run([*wasmkit, "push", ref, "--plain-http"], base_env)
    results["bpush"].append(seconds)
    results["bpush_cpu"].append(cpu)
    pull_env = {**base_env, "WASMKIT_HOME": str(work / "baseline-home")}
    seconds, _, cpu = run([*wasmkit, "pull", ref, "--plain-http"], pull_env)
    results["bpull"].append(seconds)
    results["bpull_cpu"].append(cpu)
    run([*wasmkit, "rm", ref], base_env)


def _print_baseline(rows: list[Any], directory: Path, runs: int) -> None:
    print(f"\nthis wasmkit vs the baseline {directory} (wall s, CPU s; ratio this/baseline)")
    print(f"{'module':>8} | {'push wall':>17} {'ratio':>6} {'push CPU':>13} {'ratio':>6} | "
          f"{'pull wall':>17} {'ratio':>6} {'pull CPU':>13} {'ratio':>6}")  # fmt: skip
    for size, med, *_ in rows:
        label = f"{size:g} MiB" if size >= 1 else "1 KiB"
        cells = []
        for op in ("push", "pull"):
            for suffix in ("", "_cpu"):
                mine, theirs = med[f"w{op}{suffix}"], med[f"b{op}{suffix}"]
                cells.append(f"{mine:>6.2f} / {theirs:>6.2f} {mine / theirs:>5.2f}x")
        print(f"{label:>8} | {cells[0]} {cells[1]} | {cells[2]} {cells[3]}")
    print(f"(medians of {runs} runs, the two alternating)")


if __name__ == "__main__":
    main()
