"""The container engine client: the one module of wasmkit that imports ``docker``.

It talks to whatever answers the Docker Engine API: Docker, or podman's
``podman system service`` (CI uses ``unix:///run/wasmkit-podman.sock``): finds an engine
that answers (:func:`engine_answers`, :meth:`Engine.connect`), builds a builder image once
per content hash (:meth:`Engine.ensure_image`, a lock file per tag across processes), and
runs one command in a fresh container under a deadline (:meth:`Engine.run_container`).
What a build step means (placeholders, mounts, the user's paths) is
:mod:`wasmkit.build.container`'s business.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.types
import requests.exceptions

from wasmkit.build.images import BuilderImage
from wasmkit.build.runner import OutputSink
from wasmkit.errors import EnvironmentProblem, ProcessFailed, ServiceUnavailable, ToolNotFound

log = logging.getLogger(__name__)

#: Where CI's podman serves the Docker API (.ci/setup.d/35-podman.sh); tried before the usual ones.
PODMAN_SOCKET = "/run/wasmkit-podman.sock"
DEFAULT_IMAGE_BUILD_TIMEOUT_S = 60 * 60.0
PING_TIMEOUT_S = 5.0
_PROBE_API_VERSION = "1.41"  # only for /_ping, which every version answers alike
ENGINE_HINT = (
    "start a container engine: `podman system service --time=0 unix://"
    + PODMAN_SOCKET
    + " &` (as root), or Docker; set DOCKER_HOST if it listens elsewhere; "
    "or build with `--runner local`"
)
_ENGINE_LOG_HINT = "check the engine's own log (podman: /var/log/wasmkit-podman.log in CI)"
_CONNECTION_ERRORS = (requests.exceptions.ConnectionError, requests.exceptions.Timeout)


@dataclass(frozen=True)
class BindMount:
    """A host directory or file (``source``) seen at ``target`` inside the container."""

    target: str
    source: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerExit:
    returncode: int
    output: str
    timed_out: bool


def candidate_endpoints(environ: Mapping[str, str] | None = None) -> list[str]:
    """Docker API endpoints to try, best first: ``$DOCKER_HOST``, else existing sockets."""
    environ = os.environ if environ is None else environ
    if environ.get("DOCKER_HOST"):
        return [environ["DOCKER_HOST"]]
    sockets = [PODMAN_SOCKET, "/var/run/docker.sock", "/run/podman/podman.sock"]
    runtime_dir = environ.get("XDG_RUNTIME_DIR")
    if runtime_dir:
        sockets += [f"{runtime_dir}/podman/podman.sock", f"{runtime_dir}/docker.sock"]
    return [f"unix://{path}" for path in sockets if Path(path).is_socket()]


class Engine:
    """A container engine that answers the Docker Engine API (Docker or podman)."""

    def __init__(self, client: Any, url: str, *, product: str = "?"):
        self.client = client
        self.url = url
        self.product = product
        self._rootless: bool | None = None

    @classmethod
    def connect(
        cls, base_url: str | None = None, *, timeout_s: float = DEFAULT_IMAGE_BUILD_TIMEOUT_S
    ) -> Engine:
        """Connect to the first endpoint that answers; ServiceUnavailable (exit 3) if none.

        Only ``/_ping`` is asked, under a short timeout: it says the API version, and podman's
        ``/version`` and ``/info`` take 1-2 s (longer when its storage is busy).
        """
        urls = [base_url] if base_url else candidate_endpoints()
        if not urls:
            raise ServiceUnavailable(
                "no container engine found (DOCKER_HOST is not set and there is no Docker or "
                "podman socket)",
                hint=ENGINE_HINT,
            )
        problems = []
        for url in urls:
            try:
                version, product = _ping(url)
                client = docker.DockerClient(base_url=url, version=version, timeout=timeout_s)
            except (docker.errors.DockerException, *_CONNECTION_ERRORS) as exc:
                problems.append(f"{url}: {_reason(exc)}")
                continue
            log.info("container engine at %s (%s, API %s)", url, product, version)
            return cls(client, url, product=product)
        raise ServiceUnavailable(
            "no container engine answers: " + "; ".join(problems), hint=ENGINE_HINT
        )

    @property
    def rootless(self) -> bool:
        """Whether the engine runs as an unprivileged user (its root is that user).

        A local socket tells by its owner (rootless Docker and podman serve from the user's
        runtime directory); elsewhere the engine's own info says.
        """
        if self._rootless is None:
            if self.url.startswith("unix://"):
                try:
                    self._rootless = Path(self.url.removeprefix("unix://")).stat().st_uid != 0
                except OSError:
                    self._rootless = False
            else:
                security = self.client.info().get("SecurityOptions") or []
                self._rootless = any("rootless" in str(option) for option in security)
        return self._rootless

    def close(self) -> None:
        self.client.close()

    def has_image(self, ref: str) -> bool:
        try:
            self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return False
        except _CONNECTION_ERRORS as exc:
            raise self._gone(exc) from exc
        return True

    def ensure_image(self, image: BuilderImage, on_progress: OutputSink | None = None) -> bool:
        """Build ``image`` unless its tag exists; True when it was built now.

        A lock file per tag keeps two wasmkit processes from building the same image at once.
        """
        if self.has_image(image.tag):
            return False
        with _lock(image):
            if self.has_image(image.tag):
                return False
            self.build_image(image, on_progress)
            return True

    def build_image(self, image: BuilderImage, on_progress: OutputSink | None = None) -> None:
        """Build ``image`` from its recipe, streaming the engine's progress lines."""
        if image.base.startswith("localhost/") and not self.has_image(image.base):
            raise EnvironmentProblem(
                f"the base image {image.base} of the {image.language} builder is not there",
                hint="make it with debootstrap (see .ci/setup.d/35-podman.sh), or use a pulled "
                "base: WASMKIT_BUILDER_BASE=debian:bookworm",
            )
        log.info("building %s (base %s)", image.tag, image.base)
        if on_progress is not None:
            on_progress(f"building the {image.language} builder image {image.tag} (first use)")
        started = time.monotonic()
        lines: list[str] = []
        errors: list[str] = []
        try:
            stream = self.client.api.build(
                fileobj=io.BytesIO(image.context_tar()),
                custom_context=True,
                dockerfile="Containerfile",
                tag=image.tag,
                buildargs=dict(image.build_args),
                labels={"org.wasmkit.builder": image.language, "org.wasmkit.digest": image.digest},
                network_mode="host",  # apt-get needs the network; the compile steps do not
                rm=True,
                forcerm=True,
                decode=True,
            )
            for chunk in stream:
                text = chunk.get("stream") or chunk.get("status") or ""
                if chunk.get("error"):
                    errors.append(str(chunk["error"]))
                    text = str(chunk["error"])
                for line in text.splitlines():
                    if not line.strip():
                        continue
                    lines.append(line)
                    if on_progress is not None:
                        on_progress(line)
        except docker.errors.APIError as exc:
            errors.append(str(exc.explanation or exc))
        except _CONNECTION_ERRORS as exc:
            raise self._gone(exc) from exc
        if errors or not self.has_image(image.tag):
            raise ProcessFailed(
                f"building the {image.language} builder image {image.tag} failed: "
                + (errors[-1].strip() if errors else "the engine reported no image"),
                command=["build", image.tag, *(f"{k}={v}" for k, v in image.build_args.items())],
                returncode=None,
                output="\n".join(lines),
                hint="the output above says why; the recipe is "
                f"wasmkit/build/images/{image.language}.Containerfile (network for apt-get? "
                "base image?)",
            )
        took = time.monotonic() - started
        log.info("built %s in %.1f s", image.tag, took)
        if on_progress is not None:
            on_progress(f"built {image.tag} in {took:.0f} s")

    def run_container(
        self,
        image_tag: str,
        argv: Sequence[str],
        *,
        environment: Mapping[str, str],
        working_dir: str,
        mounts: Sequence[BindMount],
        network: bool,
        user: str | None,
        label: str,
        timeout_s: float,
        on_text: Callable[[str], None] | None = None,
        translate: Callable[[str], str] = str,
        missing_hint: str = "",
    ) -> ContainerExit:
        """Run ``argv`` in a fresh container of ``image_tag`` (removed afterwards), streaming
        its output to ``on_text``; killed after ``timeout_s``. ``translate`` rewrites output
        quoted in an error; ``missing_hint`` is the hint when ``argv[0]`` is not in the image.
        """
        try:
            container = self.client.containers.create(
                image_tag,
                command=list(argv),
                environment=dict(environment),
                working_dir=working_dir,
                mounts=[
                    docker.types.Mount(m.target, m.source, type="bind", read_only=m.read_only)
                    for m in mounts
                ],
                network_mode="host" if network else "none",
                user=user,
                labels={"org.wasmkit.step": label},
                detach=True,
            )
        except docker.errors.APIError as exc:
            raise ProcessFailed(
                f"the container engine refused to create the container for {argv[0]}: "
                f"{exc.explanation or exc}",
                command=argv,
                returncode=None,
                hint=_ENGINE_LOG_HINT,
            ) from exc
        except _CONNECTION_ERRORS as exc:
            raise self._gone(exc) from exc
        try:
            return self._follow(
                container, image_tag, argv, timeout_s, on_text, translate, missing_hint
            )
        finally:
            with contextlib.suppress(docker.errors.APIError, *_CONNECTION_ERRORS):
                container.remove(force=True)

    def _follow(
        self,
        container: Any,
        image_tag: str,
        argv: Sequence[str],
        timeout_s: float,
        on_text: Callable[[str], None] | None,
        translate: Callable[[str], str],
        missing_hint: str,
    ) -> ContainerExit:
        timed_out = threading.Event()

        def stop() -> None:
            timed_out.set()
            with contextlib.suppress(docker.errors.APIError, *_CONNECTION_ERRORS):
                container.kill()

        chunks: list[str] = []
        timer = threading.Timer(timeout_s, stop)
        try:
            container.start()
            timer.start()
            for raw in container.logs(stream=True, follow=True):
                text = raw.decode(errors="replace")
                chunks.append(text)
                if on_text is not None:
                    on_text(text)
            returncode = int(container.wait()["StatusCode"])
        except docker.errors.APIError as exc:
            message = str(exc.explanation or exc)
            if "not found" in message and ("executable" in message or "exec" in message):
                raise ToolNotFound(
                    f"{argv[0]} is not in the builder image {image_tag}: {message}",
                    hint=missing_hint or None,
                ) from exc
            raise ProcessFailed(
                f"the container for {argv[0]} failed to run: {message}",
                command=argv,
                returncode=None,
                output=translate("".join(chunks)),
                hint=_ENGINE_LOG_HINT,
            ) from exc
        except _CONNECTION_ERRORS as exc:
            raise self._gone(exc) from exc
        finally:
            timer.cancel()
        return ContainerExit(returncode, "".join(chunks), timed_out.is_set())

    def _gone(self, exc: Exception) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"the container engine at {self.url} stopped answering: {exc}", hint=ENGINE_HINT
        )


@contextlib.contextmanager
def _lock(image: BuilderImage) -> Iterator[None]:
    path = Path(tempfile.gettempdir()) / f"wasmkit-image-{image.language}-{image.digest[:12]}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reason(exc: BaseException) -> str:
    """A short cause for "does not answer" (requests nests the OSError in its args)."""
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {PING_TIMEOUT_S:g} s"
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, FileNotFoundError):
            return "no socket there"
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, PermissionError):
            return "permission denied (is your user allowed to use the engine's socket?)"
        if isinstance(item, BaseException):
            pending += [*item.args, item.__cause__, item.__context__]
    return str(exc)


def _ping(url: str) -> tuple[str | None, str]:
    """(the API version ``url`` speaks, the server's name); raises if it does not answer."""
    probe = docker.APIClient(base_url=url, version=_PROBE_API_VERSION, timeout=PING_TIMEOUT_S)
    try:
        response = probe.get(probe._url("/_ping", versioned_api=False))
        response.raise_for_status()
    except requests.exceptions.HTTPError as exc:
        raise docker.errors.DockerException(f"/_ping answered {exc}") from exc
    finally:
        probe.close()
    return response.headers.get("API-Version"), response.headers.get("Server", "?")


def engine_answers(base_url: str | None = None) -> str | None:
    """The URL of a container engine that answers a ping, or None (``--runner auto``, doctor)."""
    for url in [base_url] if base_url else candidate_endpoints():
        try:
            _ping(url)
        except (docker.errors.DockerException, *_CONNECTION_ERRORS):
            continue
        return url
    return None
