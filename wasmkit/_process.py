"""One owner per external process: start, wait under a deadline, stop, keep the logs.

:class:`ManagedProcess` is what the istiod and Istio agent owners build on: the child dies
with wasmkit (``PR_SET_PDEATHSIG``), writes its output to a log file in its run directory, and
is stopped with TERM, then KILL after a grace period. ``wait_until`` polls a readiness check
under a deadline and fails early, with the log's tail, if the child exits. The Envoy owner
(:mod:`wasmkit.envoy.process`) keeps stdout, stderr and Envoy's own log apart and reads its
admin address file, so it uses the pieces here (``die_with_parent``, ``terminate``) rather than
the class.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO

from wasmkit.errors import ProcessFailed

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    """For ``preexec_fn``: the kernel kills the child when wasmkit dies."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_CLONE_NEWNS = 0x00020000
_MS_BIND = 4096
_MS_REC = 0x4000
_MS_PRIVATE = 1 << 18


def can_bind_mount() -> bool:
    """Private mount namespaces need root (CAP_SYS_ADMIN) on Linux."""
    return sys.platform.startswith("linux") and os.geteuid() == 0


def bind_mounts(pairs: Sequence[tuple[Path, Path]]) -> Callable[[], None]:
    """A ``preexec`` that gives the child a private mount namespace with ``source`` bound over
    ``target`` for each pair: a program with a fixed path (Istio's agent's download directory,
    a sidecar's module cache) gets its own directory there, and the host sees no change."""
    encoded = [(str(src).encode(), str(dst).encode()) for src, dst in pairs]

    def preexec() -> None:  # pragma: no cover - runs in the child
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        if libc.unshare(_CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
        if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
            raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
        for src, dst in encoded:
            if libc.mount(src, dst, None, _MS_BIND, None) != 0:
                raise OSError(ctypes.get_errno(), f"mount --bind {src!r} {dst!r}")

    return preexec


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def wait_exited(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """``proc.wait(timeout_s)``, woken the moment the child exits.

    Popen's own wait with a timeout polls with sleeps that double up to 50 ms, so an Envoy
    that exits 17 ms after TERM was reaped after 31 ms, on every run. A pidfd (Linux 5.3)
    becomes readable when the child exits; elsewhere Popen's polling does the waiting.
    Raises ``subprocess.TimeoutExpired`` as Popen.wait does.
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None and proc.returncode is None:
        try:
            fd = pidfd_open(proc.pid)
        except OSError:  # already reaped, or pidfds not supported by the kernel
            pass
        else:
            try:
                readable, _, _ = select.select([fd], [], [], timeout_s)
            finally:
                os.close(fd)
            if not readable:
                raise subprocess.TimeoutExpired(proc.args, timeout_s)
            proc.wait()  # it has exited: this reaps it at once
            return
    proc.wait(timeout=timeout_s)


def terminate(proc: subprocess.Popen[bytes], grace_s: float = 3.0) -> None:
    """TERM, then KILL if ``proc`` is still there after ``grace_s``; reaps it either way."""
    if proc.poll() is None:
        proc.terminate()
        try:
            wait_exited(proc, grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


class ManagedProcess:
    """A child process with its log in ``run_dir/<name>.log``; a context manager."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        run_dir: Path,
        *,
        env: Mapping[str, str] | None = None,
        preexec: Callable[[], None] | None = None,
        hint: str | None = None,
    ):
        self.name = name
        self.command = list(command)
        self.run_dir = run_dir.resolve()
        self.env = dict(env) if env is not None else None
        self.log_path = self.run_dir / f"{name}.log"
        self.hint = hint or f"see {self.log_path}"
        self._preexec = preexec
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        preexec = self._preexec

        def child() -> None:  # pragma: no cover - runs in the child
            die_with_parent()
            if preexec is not None:
                preexec()

        try:
            self._proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self.run_dir,
                env=self.env,
                preexec_fn=child,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self._log.close()
            raise ProcessFailed(
                f"could not start {self.name}: {exc}",
                command=self.command,
                returncode=None,
                output=tail(self.log_path),
                hint=self.hint,
            ) from None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def failed(self, message: str) -> ProcessFailed:
        return ProcessFailed(
            message,
            command=self.command,
            returncode=self._proc.poll() if self._proc else None,
            output=tail(self.log_path),
            hint=self.hint,
        )

    def wait_until(self, ready: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Poll ``ready`` until it is true; fail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout_s
        delay = 0.005
        while True:
            if not self.alive():
                raise self.failed(f"{self.name} exited before {what}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise self.failed(f"{self.name}: no {what} after {timeout_s:g} s")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.05)

    def stop(self, grace_s: float = 3.0) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        terminate(proc, grace_s)
        if self._log is not None:
            self._log.close()
            self._log = None
        return proc.returncode

    def __enter__(self) -> ManagedProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
