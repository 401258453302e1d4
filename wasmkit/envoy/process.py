"""The Envoy process, owned end to end.

:class:`EnvoyProcess` is a context manager: it starts Envoy with no fixed port
(admin on port 0, its address written to a file), waits for ``/ready`` under a
deadline, makes the kernel kill Envoy if wasmkit dies, and on the way out stops
it (TERM, then KILL). Everything it ran with - config, log, stdout, stderr - is
in its run directory, which the caller keeps for a failure report.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from wasmkit._process import die_with_parent as _die_with_parent
from wasmkit._process import terminate
from wasmkit.envoy.admin import AdminClient
from wasmkit.envoy.binary import EnvoyBinary
from wasmkit.envoy.logs import load_failure_reason, parse_log, startup_error
from wasmkit.errors import ModuleLoadError, ProcessFailed

#: Envoy's start-up deadline: a base for Envoy itself, plus V8's compilation of the module in
#: each VM (one per filter variant; the validate run compiles beside it on the same cores). A
#: 3.4 MiB Go module in two VMs missed a fixed 30 s on a busy 2-core machine.
STARTUP_BASE_S = 30.0
STARTUP_PER_MIB_AND_VM_S = 15.0
#: Where a deadline-missed error says the deadline can be raised (the caller's words: the
#: ``wasmkit test`` flag, its environment variable).
DEFAULT_DEADLINE_HINT = "a slow or busy machine needs a longer deadline"


def startup_deadline(module_bytes: int, vms: int) -> float:
    """Seconds Envoy may take to become ready with ``vms`` VMs of a module this size."""
    return STARTUP_BASE_S + STARTUP_PER_MIB_AND_VM_S * max(vms, 1) * module_bytes / 2**20


def _tail(path: Path, lines: int = 30) -> str:
    """The end of Envoy's log, without its list of compiled-in extensions (hundreds of names
    that say nothing about why it failed)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    kept = [
        f"[{e.level}][{e.logger}] {e.message}"
        for e in parse_log(text)
        if not e.message.startswith("  ") and "statically linked extensions" not in e.message
    ]
    if not kept:  # not Envoy's log format (a flag parser's complaint on stderr): as it is
        kept = text.splitlines()
    return "\n".join(kept[-lines:])


class EnvoyProcess:
    """Run ``binary`` with ``config`` in ``run_dir``; see the module docstring."""

    def __init__(
        self,
        binary: EnvoyBinary,
        config: Path,
        run_dir: Path,
        *,
        concurrency: int = 1,
        log_level: str = "info",
        component_log_level: str | None = "wasm:debug",
        ready_timeout_s: float = STARTUP_BASE_S,
        deadline_hint: str = DEFAULT_DEADLINE_HINT,
        extra_args: tuple[str, ...] = (),
        preexec: Callable[[], None] | None = None,
    ):
        self.binary = binary
        self._preexec = preexec
        # Envoy runs in run_dir: relative paths would resolve against it, not our cwd.
        self.config = config.resolve()
        self.run_dir = run_dir.resolve()
        self.concurrency = concurrency
        self.log_level = log_level
        self.component_log_level = component_log_level
        self.ready_timeout_s = ready_timeout_s
        self.deadline_hint = deadline_hint
        self.extra_args = extra_args
        self.log_path = self.run_dir / "envoy.log"
        self.stdout_path = self.run_dir / "envoy.stdout"
        self.stderr_path = self.run_dir / "envoy.stderr"
        self.admin_address_path = self.run_dir / "admin-address.txt"
        self._proc: subprocess.Popen[bytes] | None = None
        self._spawned = False  # spawned, not yet waited for (start() then only waits)
        self._spawned_at = 0.0
        self._files: list[IO[bytes]] = []
        self.admin: AdminClient | None = None

    @property
    def command(self) -> list[str]:
        cmd = [
            str(self.binary.path),
            "-c",
            str(self.config),
            "--disable-hot-restart",
            "--concurrency",
            str(self.concurrency),
            "--admin-address-path",
            str(self.admin_address_path),
            "--log-path",
            str(self.log_path),
            "-l",
            self.log_level,
        ]
        if self.component_log_level:
            cmd += ["--component-log-level", self.component_log_level]
        return cmd + list(self.extra_args)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def start(self) -> None:
        """Spawn Envoy (unless :meth:`spawn` did already) and wait until it is ready."""
        if not self._spawned:
            self.spawn()
        self._spawned = False
        self._wait_ready()

    def spawn(self) -> None:
        """Start the process and return at once; :meth:`start` waits for it to be ready."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for stale in (self.log_path, self.admin_address_path):
            stale.unlink(missing_ok=True)
        out = self.stdout_path.open("wb")
        err = self.stderr_path.open("wb")
        self._files = [out, err]
        try:
            self._proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.run_dir,
                preexec_fn=self._child_setup,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self._close_files()
            raise ProcessFailed(
                f"could not start Envoy: {exc}", command=self.command, returncode=None
            ) from None
        self._spawned = True
        self._spawned_at = time.monotonic()

    def _child_setup(self) -> None:  # pragma: no cover - runs in the child
        _die_with_parent()
        if self._preexec is not None:
            self._preexec()

    def _failure(self) -> Exception:
        log = self.log_text()
        stderr = _tail(self.stderr_path)
        reason = load_failure_reason(log) or load_failure_reason(stderr)
        if reason is not None:
            return ModuleLoadError(
                reason,
                hint=f"Envoy's log is in {self.log_path}",
                details=_tail(self.log_path, 15),
            )
        returncode = self._proc.poll() if self._proc else None
        said = startup_error(log) or startup_error(stderr)
        return ProcessFailed(
            f"Envoy exited with code {returncode} before it was ready"
            + (f": {said}" if said else ""),
            command=self.command,
            returncode=returncode,
            output=(stderr or _tail(self.log_path)),
            hint=f"see {self.run_dir} for its config and log",
        )

    def _wait_ready(self) -> None:
        assert self._proc is not None
        # The deadline counts from the spawn (an Envoy started early has had time already);
        # it is checked after each look, so an Envoy found ready is never refused.
        deadline = self._spawned_at + self.ready_timeout_s
        delay = 0.002
        while True:
            if self._proc.poll() is not None:
                raise self._failure()
            if self.admin is None:
                text = self._read_admin_address()
                if text:
                    host, _, port = text.rpartition(":")
                    self.admin = AdminClient(host, int(port))
            if self.admin is not None:
                try:
                    status, _ = self.admin.get("/ready", timeout=1.0)
                    if status == 200:
                        return
                except OSError:
                    pass
            if time.monotonic() >= deadline:
                break
            time.sleep(delay)
            # Envoy is ready ~0.1 s after its start: a 10 ms step overslept 5 ms on average.
            # A poll is a stat, or one GET on loopback, while Envoy has the other core.
            delay = min(delay * 1.5, 0.004)
        self.stop()
        raise ProcessFailed(
            f"Envoy was not ready after {self.ready_timeout_s:g}s",
            command=self.command,
            returncode=None,
            output=_tail(self.log_path),
            hint=f"{self.deadline_hint}; Envoy's config and log are in {self.run_dir}",
        )

    def _read_admin_address(self) -> str | None:
        try:
            text = self.admin_address_path.read_text().strip()
        except FileNotFoundError:
            return None
        return text if text.count(":") >= 1 and text.rsplit(":", 1)[1].isdigit() else None

    def listener_ports(self) -> dict[str, int]:
        assert self.admin is not None
        return self.admin.listener_ports()

    def server_version(self) -> str | None:
        assert self.admin is not None
        return self.admin.server_version()

    def stats(self, filter_regex: str | None = None) -> dict[str, int]:
        assert self.admin is not None
        return self.admin.stats(filter_regex)

    def flushed_stats(self, filter_regex: str) -> dict[str, int]:
        assert self.admin is not None
        return self.admin.flushed_stats(filter_regex)

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, grace_s: float = 3.0) -> int | None:
        proc = self._proc
        if proc is None:
            return None
        terminate(proc, grace_s)
        self._close_files()
        return proc.returncode

    def _close_files(self) -> None:
        for handle in self._files:
            handle.close()
        self._files = []

    def __enter__(self) -> EnvoyProcess:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Validation:
    """``envoy --mode validate`` running in the background: it loads every module and
    opens no port (~0.2 s); :meth:`result` waits for its verdict. A check that needs no
    running Envoy (``wasmkit build``'s) and the reason behind a start that gave none."""

    def __init__(self, binary: EnvoyBinary, config: Path, run_dir: Path):
        self.command = [
            str(binary.path),
            "--mode",
            "validate",
            "-c",
            str(config.resolve()),
            "--disable-hot-restart",
            "-l",
            "warn",
        ]
        self.run_dir = run_dir
        self._log = run_dir / "validate.log"
        self._handle = self._log.open("wb")
        try:
            self._proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=self._handle,
                stderr=subprocess.STDOUT,
                cwd=run_dir,
                preexec_fn=_die_with_parent,
            )
        except OSError as exc:
            self._handle.close()
            raise ProcessFailed(
                f"could not start Envoy: {exc}", command=self.command, returncode=None
            ) from None

    def cancel(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._handle.close()

    def result(self, timeout_s: float = 60.0) -> None:
        """Wait for the verdict; raise ModuleLoadError quoting Envoy if it refused."""
        try:
            returncode = self._proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.cancel()
            raise ProcessFailed(
                f"envoy --mode validate did not finish in {timeout_s:g} s",
                command=self.command,
                returncode=None,
            ) from None
        self._handle.close()
        if returncode == 0:
            return
        output = self._log.read_text(errors="replace")
        reason = load_failure_reason(output)
        if reason is not None:
            raise ModuleLoadError(
                reason, hint="Envoy refused the module at load time", details=output[-3000:]
            )
        said = startup_error(output)
        raise ProcessFailed(
            "Envoy refused the generated configuration" + (f": {said}" if said else ""),
            command=self.command,
            returncode=returncode,
            output=output[-3000:],
            hint="this is a wasmkit bug if the module loads elsewhere; please report it",
        )


def validate_config(binary: EnvoyBinary, config: Path, run_dir: Path) -> None:
    """Run ``envoy --mode validate`` to completion (see :class:`Validation`)."""
    Validation(binary, config, run_dir).result()


@contextlib.contextmanager
def start_checked(envoy: EnvoyProcess, *, preflight: bool = True) -> Iterator[EnvoyProcess]:
    """Start ``envoy``; a module it refuses is reported in Envoy's own words.

    The real start loads every module and logs why it refused one, and that reason is what
    the error quotes. ``envoy --mode validate`` runs only where it adds information: after a
    start that failed without a reason in the log (``preflight=False``: never). Run beside
    every start it cost a second Envoy's CPU (V8 compiling the module again) on every run.
    """
    try:
        envoy.start()
    except ProcessFailed:
        envoy.stop()
        if preflight:
            # Raises ModuleLoadError when Envoy's validation names a reason. It compiles
            # the same modules: it gets the same deadline (at least a minute).
            validation = Validation(envoy.binary, envoy.config, envoy.run_dir)
            validation.result(timeout_s=max(60.0, envoy.ready_timeout_s))
        raise
    except BaseException:
        envoy.stop()
        raise
    try:
        yield envoy
    finally:
        envoy.stop()
