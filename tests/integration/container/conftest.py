"""A real container engine answering the Docker Engine API: podman's service in CI.

``engine`` connects to ``$DOCKER_HOST`` or a known socket (CI's
``/run/wasmkit-podman.sock`` first). When nothing answers but podman is installed, it
starts ``podman system service`` itself with an idle timeout, so the service exits on its
own once the tests stop talking to it. The tests are skipped only when podman is not
installed (and no other engine answers); everything else that is missing is a failure.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from wasmkit.build.engine import PODMAN_SOCKET, Engine, engine_answers
from wasmkit.build.images import BuilderImage, image_from_containerfile
from wasmkit.build.runner import Workspace

#: How long a service this fixture started stays up after its last request.
_IDLE_S = 300


def _start_podman_service() -> str:
    socket_path = (
        PODMAN_SOCKET
        if os.geteuid() == 0
        else f"{tempfile.gettempdir()}/wasmkit-podman-{os.getuid()}.sock"
    )
    url = f"unix://{socket_path}"
    lock = Path(tempfile.gettempdir()) / "wasmkit-podman-service.lock"
    with lock.open("a") as handle:  # xdist workers: one starts it, the other waits
        fcntl.flock(handle, fcntl.LOCK_EX)
        if engine_answers(url):
            return url
        with contextlib.suppress(FileNotFoundError):
            os.unlink(socket_path)
        log = Path(tempfile.gettempdir()) / "wasmkit-podman-service.log"
        with log.open("ab") as out:
            subprocess.Popen(
                ["podman", "system", "service", f"--time={_IDLE_S}", url],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd="/",  # it outlives this checkout; conmon needs its directory to exist
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if engine_answers(url):
                return url
            time.sleep(0.2)
        pytest.fail(f"podman system service did not answer on {url}; see {log}")


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    url = engine_answers()
    if url is None:
        if shutil.which("podman") is None:
            pytest.skip(
                "podman is not installed and no container engine answers (.ci/setup installs it)"
            )
        url = _start_podman_service()
    connected = Engine.connect(url)
    yield connected
    connected.close()


@pytest.fixture(scope="session")
def base_image(engine: Engine) -> str:
    """The default base image; CI makes it with debootstrap, and a build needs it."""
    base = os.environ.get("WASMKIT_BUILDER_BASE", "localhost/debian-base:bookworm")
    if not engine.has_image(base):
        pytest.fail(
            f"base image {base} is missing: run `bash .ci/setup 'apt podman'` (debootstrap)"
        )
    return base


@pytest.fixture(scope="session")
def plain_image(engine: Engine, base_image: str) -> BuilderImage:
    """The base image alone, as a builder (sh, coreutils): steps need no toolchain."""
    image = image_from_containerfile("test-plain", "ARG BASE\nFROM ${BASE}\n", base=base_image)
    engine.ensure_image(image)
    return image


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    src = tmp_path / "project"
    src.mkdir()
    return Workspace(src=src, out=src / "build", cache=tmp_path / "cache")


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]
