"""The one shape every language builder has: DATA, no code paths of its own.

A :class:`Language` says which tools a build needs (and how to install them, for
``wasmkit doctor`` and the "toolchain missing" error), which proxy-wasm ABIs its SDK
can export, the :class:`~wasmkit.build.runner.Step` s that compile a project (as a
function of a :class:`BuildContext`), where the module lands, and the builder image
the container runner uses. The build core (:mod:`wasmkit.build.core`) runs the same
sequence for all of them: pick a runner, run the steps, copy the module to
``build/filter.wasm``, write the runtime config, check the module.

Example (a whole language module, ``wasmkit/build/languages/<name>.py``)::

    from wasmkit.abi import AbiVersion
    from wasmkit.build.language import BuildContext, Language, Tool
    from wasmkit.build.runner import Step

    def _steps(ctx: BuildContext) -> tuple[Step, ...]:
        opt = "-O2" if ctx.release else "-O0"
        return (
            Step(("mycc", opt, "-o", "{out}/filter.wasm", "{src}/filter.c", *ctx.extra_args),
                 description="compile"),
        )

    LANGUAGE = Language(
        name="mylang",
        display_name="My Language",
        tools=(Tool("mycc", install="apt-get install -y mycc"),),
        abis=(AbiVersion.V0_2_1,),
        steps=_steps,
        artifact=lambda ctx: "{out}/filter.wasm",
        image="wasmkit-builder-mylang",
        sources=("*.c", "*.h"),
    )

and one line in :data:`wasmkit.build.languages.LANGUAGES`.

Placeholders in ``Step.argv``/``env``/``cwd`` and in ``artifact``: ``{src}`` the project
root, ``{out}`` the build directory (``<project>/build``), ``{cache}`` a persistent
per-language cache (``~/.cache/wasmkit/build/<language>``) that survives ``rm -rf build``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from wasmkit.abi import AbiVersion, PlatformRelease
from wasmkit.build.runner import Step


@dataclass(frozen=True)
class Tool:
    """Something a local build needs on the machine.

    ``command`` is looked up on PATH (or is an absolute path); ``files`` must exist
    (libraries with no program, e.g. wasi-libc). ``install`` is the exact command
    ``wasmkit doctor`` and the "toolchain missing" error print.
    """

    command: str | None
    install: str
    purpose: str = ""
    files: tuple[str, ...] = ()
    version_args: tuple[str, ...] = ("--version",)

    @property
    def label(self) -> str:
        return self.command or (self.files[0] if self.files else "?")


@dataclass(frozen=True)
class BuildContext:
    """What the steps of one build may depend on (everything else is a placeholder)."""

    name: str  # the project name (wasmkit.yaml `name`)
    root_id: str
    platform: PlatformRelease
    abi: AbiVersion  # the ABI to export: the best one both the SDK and the platform speak
    release: bool = True
    extra_args: tuple[str, ...] = ()  # wasmkit.yaml build.extraArgs, appended to the compile step
    env: Mapping[str, str] = field(default_factory=dict)  # wasmkit.yaml build.env


@dataclass(frozen=True)
class Language:
    """One language's builder, as data."""

    name: str  # the --language value: cpp | rust | assemblyscript | go
    display_name: str
    tools: tuple[Tool, ...]
    #: ABIs the SDK can export, best first; the build picks the first the platform accepts.
    abis: tuple[AbiVersion, ...]
    steps: Callable[[BuildContext], tuple[Step, ...]]
    #: Where the module lands after the steps (with placeholders), copied to build/filter.wasm.
    artifact: Callable[[BuildContext], str]
    #: Builder image name (no registry, no tag): the container runner builds it from
    #: ``wasmkit/build/images/<name>.Containerfile`` as ``localhost/<image>:<content hash>``.
    image: str
    #: Glob patterns (relative to the project) of the inputs; a build whose inputs and
    #: settings did not change is skipped. build/, node_modules/, target/ are never inputs.
    sources: tuple[str, ...] = ("**/*",)
    #: Extra directories (relative to the project) that hold outputs, not inputs.
    generated: tuple[str, ...] = ()
    #: True when Envoy itself must confirm the root id (the SDK does not fail visibly).
    validate_root_id: bool = True
    #: Refuses a platform the SDK cannot run on for reasons other than the ABI (UsageError);
    #: called by init and build alike, so a project is refused before it is written.
    check_platform: Callable[[PlatformRelease], None] | None = None
    #: What to do about a failed compile, read from the compiler's output (None: no advice
    #: beyond "fix the error"), e.g. Go's missing module -> `go get`.
    advise: Callable[[str], str | None] | None = None

    def abi_for(self, platform: PlatformRelease) -> AbiVersion | None:
        """The ABI this language should export for ``platform``, or None if none fits."""
        return next((abi for abi in self.abis if abi in platform.abis), None)
