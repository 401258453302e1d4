"""``wasmkit build``: one sequence for every language.

    load wasmkit.yaml -> Language + platform row -> BuildContext
    -> skip if the inputs' fingerprint did not change
    -> pick a runner (container when an engine answers, else local; local checks tools first)
    -> run the language's steps (output streamed to ``on_output``, kept for the error)
    -> build/filter.wasm + build/runtime-config.json
    -> checks: ABI the platform speaks, imports Envoy provides, root id (Envoy validate mode)
    -> optionally store as an image in the local store (``tag``)

A failing step is a :class:`CompileError` (exit 2, the compiler's output attached) when it
is a compile step, a :class:`~wasmkit.errors.ProcessFailed` (exit 3) when it fetches
dependencies (``Step.network``): the network or registry, not the code, is at fault.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from wasmkit._atomic import copy_atomic, write_atomic
from wasmkit.abi import AbiVersion, PlatformRelease, find_platform
from wasmkit.build.checks import check_root, check_static
from wasmkit.build.inputs import fingerprint, up_to_date, write_state
from wasmkit.build.language import BuildContext, Language
from wasmkit.build.languages import get_language
from wasmkit.build.local import LocalRunner
from wasmkit.build.runner import OutputSink, Runner, StepResult, Workspace
from wasmkit.build.tools import missing_tools
from wasmkit.errors import CompileError, ProcessFailed, ToolNotFound, UsageError, WasmkitError
from wasmkit.filter import plugin_configuration
from wasmkit.module import ModuleInfo, cache_dir
from wasmkit.project import PROJECT_FILE, LoadedProject, load_project

log = logging.getLogger(__name__)

OUT_DIR = "build"
MODULE_NAME = "filter.wasm"
RUNTIME_CONFIG = "runtime-config.json"
#: Without a `platform:` in wasmkit.yaml: the Envoy wasmkit itself tests with.
DEFAULT_PLATFORM = ("envoy", "1.40")
RUNNERS = ("auto", "local", "container")


@dataclass(frozen=True)
class BuildOptions:
    runner: str | None = None  # None: wasmkit.yaml build.runner (default auto)
    release: bool | None = None  # None: wasmkit.yaml build.mode
    tag: str | None = None
    force: bool = False  # build even if the inputs did not change
    root_check: str = "emulator"  # emulator | envoy | none (see wasmkit.build.checks)
    envoy: str | None = None
    on_output: OutputSink | None = None  # each line of the tools' output (-v)
    on_progress: OutputSink | None = None  # builder image progress (container runner)
    env: dict[str, str] | None = None  # the local runner's environment (default: os.environ)


@dataclass(frozen=True)
class BuildResult:
    module: Path
    runtime_config: Path
    info: ModuleInfo
    language: str
    platform: PlatformRelease
    abi: AbiVersion
    runner: str
    skipped: bool
    duration_s: float
    steps: tuple[StepResult, ...] = ()
    notes: tuple[str, ...] = ()
    image: str | None = None  # the stored image reference (with -t)
    image_digest: str | None = None


@dataclass(frozen=True)
class _Plan:
    loaded: LoadedProject
    language: Language
    platform: PlatformRelease
    ctx: BuildContext
    workspace: Workspace
    module: Path
    notes: list[str] = field(default_factory=list)


def platform_of(loaded: LoadedProject) -> PlatformRelease:
    p = loaded.project.platform
    name, version = (p.name, p.version) if p is not None else DEFAULT_PLATFORM
    return find_platform(name, version)


def choose_abi(language: Language, platform: PlatformRelease) -> AbiVersion:
    if language.check_platform is not None:
        language.check_platform(platform)
    abi = language.abi_for(platform)
    if abi is None:
        have = ", ".join(a.value for a in language.abis)
        want = ", ".join(sorted(a.value for a in platform.abis))
        raise UsageError(
            f"{language.display_name} exports ABI {have}; {platform.label} accepts only {want}",
            hint="target a newer platform version (wasmkit platforms), or use a language "
            "whose SDK speaks that ABI (cpp builds 0.1.0)",
        )
    return abi


def _plan(project_dir: Path, options: BuildOptions) -> _Plan:
    if not (project_dir / PROJECT_FILE).is_file():
        raise UsageError(
            f"no {PROJECT_FILE} in {project_dir}",
            hint="run in a project made by `wasmkit init`, or adopt a module built elsewhere: "
            "wasmkit build --precompiled FILE.wasm --root-id ID --abi 0.2.1",
        )
    loaded = load_project(project_dir)
    project = loaded.project
    if project.language is None:
        raise UsageError(
            f"{loaded.root / 'wasmkit.yaml'} has no `language:`",
            hint="add e.g. `language: cpp`, or import a module built elsewhere with "
            "`wasmkit build --precompiled FILE.wasm --root-id ID --abi 0.2.1`",
        )
    language = get_language(project.language)
    platform = platform_of(loaded)
    notes = []
    if platform.assumed:
        notes.append(f"{platform.label} is newer than wasmkit's table; assumed like the newest")
    release = options.release if options.release is not None else project.build.mode == "release"
    ctx = BuildContext(
        name=project.name,
        root_id=project.root_id,
        platform=platform,
        abi=choose_abi(language, platform),
        release=release,
        extra_args=tuple(project.build.extra_args),
        env=dict(project.build.env),
    )
    out = loaded.root / OUT_DIR
    workspace = Workspace(src=loaded.root, out=out, cache=cache_dir() / "build" / language.name)
    return _Plan(loaded, language, platform, ctx, workspace, out / MODULE_NAME, notes)


def make_runner(name: str, language: Language, options: BuildOptions) -> Runner:
    """``local``, ``container`` or ``auto`` (container when an engine answers, else local)."""
    if name not in RUNNERS:
        raise UsageError(f"unknown runner {name!r}", hint=f"use one of: {', '.join(RUNNERS)}")
    if name == "auto":
        name = "container" if _engine_answers() else "local"
        log.info("runner auto: %s", name)
    if name == "local":
        env = dict(os.environ if options.env is None else options.env)
        missing = missing_tools(language, env.get("PATH"))
        if missing:
            lines = "\n".join(f"  - {t.label}: {t.purpose}" for t in missing)
            installs = list(dict.fromkeys(t.install for t in missing))
            raise ToolNotFound(
                f"the {language.display_name} toolchain is not complete here; missing:\n{lines}",
                hint="install it: " + " && ".join(installs) + " (or build with --runner container)",
            )
        return LocalRunner(env)
    from wasmkit.build.container import ContainerRunner

    return ContainerRunner.for_language(language.name, on_progress=options.on_progress)


def _engine_answers() -> bool:
    from wasmkit.build.engine import engine_answers

    return engine_answers() is not None


def write_runtime_config(path: Path, *, root_ids: list[str], abis: list[AbiVersion]) -> None:
    """The wasme-style runtime config that travels with the module in an image."""
    from wasmkit.oci.layout import runtime_config

    data = runtime_config(root_ids, [a.value for a in abis])
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def build_project(project_dir: Path, options: BuildOptions | None = None) -> BuildResult:
    """Build the project in ``project_dir``; see the module docstring for the sequence."""
    options = options or BuildOptions()
    started = time.monotonic()
    plan = _plan(project_dir, options)
    language, ctx, ws = plan.language, plan.ctx, plan.workspace
    runner_name = options.runner or plan.loaded.project.build.runner
    runner = make_runner(runner_name, language, options)
    # One cache per runner: tools record absolute paths (Rust's target dir), which differ
    # between the host and a container's /cache, so a shared cache would rebuild on each switch.
    ws = replace(ws, cache=ws.cache / runner.name)
    ws.out.mkdir(parents=True, exist_ok=True)
    ws.cache.mkdir(parents=True, exist_ok=True)
    print_ = fingerprint(ws.src, language, ctx, runner.name)
    runtime_config = ws.out / RUNTIME_CONFIG
    skipped = not options.force and up_to_date(ws.out, plan.module, print_)
    results: list[StepResult] = []
    if skipped:
        log.info("inputs unchanged since the last build: skipping the steps")
        plan.notes.append("inputs unchanged: reused the last build")
    else:
        for step in language.steps(ctx):
            if ctx.env:
                step = replace(step, env={**ctx.env, **step.env})
            log.info("step: %s", step.description or " ".join(step.argv))
            result = runner.run(step, ws, on_output=options.on_output)
            results.append(result)
            if result.returncode != 0:
                raise _step_failure(result, language)
        _collect(language.artifact(ctx), ws, plan.module)
    write_runtime_config(runtime_config, root_ids=[ctx.root_id], abis=[ctx.abi])
    info = check_static(plan.module, plan.platform)
    if ctx.abi not in info.abi_versions:
        plan.notes.append(
            f"the module exports ABI {', '.join(v.value for v in info.abi_versions)}, "
            f"not the {ctx.abi.value} wasmkit asked for"
        )
    if not skipped and language.validate_root_id:
        note = check_root(
            plan.module,
            options.root_check,
            root_id=ctx.root_id,
            configuration=plugin_configuration(plan.loaded.project.config),
            envoy=options.envoy,
        )
        if note:
            plan.notes.append(note)
    if not skipped:
        write_state(
            ws.out,
            fingerprint=print_,
            module_sha256=info.sha256,
            language=language.name,
            runner=runner.name,
        )
    image, digest = None, None
    if options.tag:
        image, digest, note = store_module(
            plan.module, options.tag, root_ids=[ctx.root_id], abis=list(info.abi_versions)
        )
        plan.notes.append(note)
    return BuildResult(
        module=plan.module,
        runtime_config=runtime_config,
        info=info,
        language=language.name,
        platform=plan.platform,
        abi=ctx.abi,
        runner=runner.name,
        skipped=skipped,
        duration_s=time.monotonic() - started,
        steps=tuple(results),
        notes=tuple(plan.notes),
        image=image,
        image_digest=digest,
    )


def _step_failure(result: StepResult, language: Language) -> WasmkitError:
    what = result.step.description or result.argv[0]
    # The language's advice comes first: a fetch can fail for the project's own reasons
    # (Rust: a Cargo.lock that no longer matches Cargo.toml).
    advice = language.advise(result.output) if language.advise is not None else None
    if result.step.network and advice is None:
        return ProcessFailed(
            f"{what} failed (exit {result.returncode})",
            command=result.argv,
            returncode=result.returncode,
            output=result.output,
            hint="this step fetches dependencies: check the network and the package registry, "
            "then run `wasmkit build -v` again",
        )
    return CompileError(
        f"{what} failed (exit {result.returncode}); "
        f"{'it' if result.step.network else 'the compiler'} said:",
        details=result.output or "(no output)",
        hint=advice
        or f"fix the {language.display_name} error above; `wasmkit build -v` streams the "
        "full output",
    )


def _collect(artifact: str, ws: Workspace, module: Path) -> None:
    produced = Path(ws.expand(artifact))
    if not produced.is_file():
        raise ProcessFailed(
            f"the build finished but wrote no module at {produced}",
            command=[],
            returncode=0,
            hint="run `wasmkit build -v` to see the tools' output",
        )
    if produced.resolve() != module.resolve():
        copy_atomic(produced, module)


def store_module(
    module: Path, tag: str, *, root_ids: list[str], abis: list[AbiVersion]
) -> tuple[str | None, str | None, str]:
    """Store ``module`` as an image in the local store; (ref, digest, note)."""
    from wasmkit.oci.store import LocalStore

    record = LocalStore().add_module(
        module, tag, root_ids=root_ids, abi_versions=[a.value for a in abis]
    )
    return record.ref, record.manifest_digest, f"stored as {record.ref} ({record.manifest_digest})"
