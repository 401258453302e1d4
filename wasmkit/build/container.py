"""The container runner: build steps run in a pinned builder image (engine: :mod:`.engine`).

A step's placeholders map to bind mounts: ``{src}`` -> ``/src`` (the project),
``{out}`` -> ``/out`` (the build directory), ``{cache}`` -> ``/cache`` (the persistent
per-language cache, also ``$HOME`` unless the step sets one). Each step gets a fresh
container that is removed afterwards, runs as the invoking user's uid:gid (so the host
can delete what it wrote; rootless engines map their root to that user already), under a
deadline, and without network unless the step says it fetches dependencies
(``Step.network``): then it gets the host's network, proxy variables and trust store.
The step's output names the host's paths where the tools printed a mount's (a compile
error points at ``<project>/filter.cc``, not ``/src/filter.cc``).

The builder image is built on first use (:meth:`Engine.ensure_image`), progress streamed
to a callback, and reused by its content-hash tag afterwards.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Any

from wasmkit.build.engine import BindMount, Engine
from wasmkit.build.images import BuilderImage, builder_image
from wasmkit.build.runner import OutputSink, Step, StepResult, Workspace

log = logging.getLogger(__name__)

#: Where the placeholders point inside the container.
SRC, OUT, CACHE = "/src", "/out", "/cache"
DEFAULT_STEP_TIMEOUT_S = 30 * 60.0
_HOST_CA_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
_CONTAINER_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")
#: A mount point as a path of its own (not "/usr/src/..."), to show the host path instead.
_MOUNT_PATH = re.compile(r"(?<![\w.~/-])(/src|/out|/cache)(?![\w.-])")


def _host_ca_bundle() -> str | None:
    return next((path for path in _HOST_CA_BUNDLES if Path(path).is_file()), None)


class ContainerRunner:
    """Run build steps in ``image``; build the image on the first step if it is missing.

    ``on_progress`` receives the image build's lines (shown as "building the builder
    image..." progress), ``user`` overrides the uid:gid the steps run as.
    """

    name = "container"

    def __init__(
        self,
        image: BuilderImage,
        *,
        engine: Engine | None = None,
        base_url: str | None = None,
        timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
        on_progress: OutputSink | None = None,
        user: str | None = None,
    ):
        self.image = image
        self._engine = engine
        self._base_url = base_url
        self.timeout_s = timeout_s
        self.on_progress = on_progress
        self._user = user
        self._ready = False

    @classmethod
    def for_language(
        cls, language: str, *, base: str | None = None, **kwargs: Any
    ) -> ContainerRunner:
        """The runner for ``language``'s builder image (``base`` replaces the base image)."""
        return cls(builder_image(language, base=base), **kwargs)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = Engine.connect(self._base_url)
        return self._engine

    def prepare(self) -> bool:
        """Make sure the builder image exists; True when it was built now."""
        built = self.engine.ensure_image(self.image, self.on_progress)
        self._ready = True
        return built

    def user(self) -> str | None:
        if self._user is not None:
            return self._user
        if self.engine.rootless:
            return None  # the engine's root is the invoking user already
        return f"{os.getuid()}:{os.getgid()}"

    def run(
        self, step: Step, workspace: Workspace, *, on_output: OutputSink | None = None
    ) -> StepResult:
        if not self._ready:
            self.prepare()

        def inside(text: str) -> str:
            return workspace.expand(text, src=SRC, out=OUT, cache=CACHE)

        def to_host(text: str) -> str:
            return host_paths(text, workspace)

        argv = tuple(inside(arg) for arg in step.argv)
        environment = {key: inside(value) for key, value in step.env.items()}
        environment.setdefault("HOME", f"{CACHE}/home")
        for path in (workspace.out, workspace.cache / "home"):
            path.mkdir(parents=True, exist_ok=True)
        mounts = [
            BindMount(SRC, str(workspace.src.resolve())),
            BindMount(OUT, str(workspace.out.resolve())),
            BindMount(CACHE, str(workspace.cache.resolve())),
        ]
        if step.network:
            bundle = _host_ca_bundle()
            if bundle:
                mounts.append(BindMount(_CONTAINER_CA_BUNDLE, bundle, read_only=True))
                environment.setdefault("NODE_EXTRA_CA_CERTS", _CONTAINER_CA_BUNDLE)
            for var in _PROXY_VARS:
                if var in os.environ:
                    environment.setdefault(var, os.environ[var])
        log.info("running %s in %s (%s)", " ".join(argv), self.image.tag, inside(step.cwd))
        started = time.monotonic()
        pending = ""

        def on_text(text: str) -> None:
            nonlocal pending
            if on_output is not None:
                *complete, pending = (pending + text).split("\n")
                for line in complete:
                    on_output(to_host(line))

        done = self.engine.run_container(
            self.image.tag,
            argv,
            environment=environment,
            working_dir=inside(step.cwd),
            mounts=mounts,
            network=step.network,
            user=self.user(),
            label=step.description or argv[0],
            timeout_s=self.timeout_s,
            on_text=on_text,
            translate=to_host,
            missing_hint="the image's recipe is wasmkit/build/images/"
            f"{self.image.language}.Containerfile; `wasmkit build --runner local` "
            "uses the machine's toolchain instead",
        )
        if on_output is not None and pending:
            on_output(to_host(pending))
        output = done.output
        if done.timed_out:
            output += f"\n[wasmkit] stopped after {self.timeout_s:g} s\n"
        return StepResult(
            step=step,
            argv=argv,
            returncode=done.returncode,
            output=to_host(output),
            duration_s=time.monotonic() - started,
        )


def host_paths(text: str, workspace: Workspace) -> str:
    """``text`` with the mount points (``/src/...``) as the host's paths: what tools print
    names files as the container saw them, the user wants their own."""
    hosts = {SRC: workspace.src, OUT: workspace.out, CACHE: workspace.cache}
    return _MOUNT_PATH.sub(lambda match: str(hosts[match.group(1)]), text)
