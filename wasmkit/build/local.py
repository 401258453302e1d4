"""The local runner: build steps run as plain subprocesses with the machine's toolchains.

No shell: ``argv`` is run as given, placeholders expanded to host paths. stdout and
stderr are merged, streamed line by line to ``on_output`` (``wasmkit build -v``) and
always kept, so a failed step's output can be shown with the error.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time
from collections.abc import Mapping

from wasmkit.build.runner import OutputSink, Step, StepResult, Workspace
from wasmkit.errors import ProcessFailed, ToolNotFound

log = logging.getLogger(__name__)

#: A build step that runs longer than this is stopped (a cold Rust std build takes ~1 min).
DEFAULT_STEP_TIMEOUT_S = 30 * 60.0


class LocalRunner:
    """Run steps on this machine. ``base_env`` defaults to this process's environment."""

    name = "local"

    def __init__(
        self,
        base_env: Mapping[str, str] | None = None,
        *,
        timeout_s: float = DEFAULT_STEP_TIMEOUT_S,
    ):
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.timeout_s = timeout_s

    def environment(self, step: Step, workspace: Workspace) -> dict[str, str]:
        env = dict(self.base_env)
        env.update({key: workspace.expand(value) for key, value in step.env.items()})
        return env

    def run(
        self, step: Step, workspace: Workspace, *, on_output: OutputSink | None = None
    ) -> StepResult:
        argv = tuple(workspace.expand(arg) for arg in step.argv)
        cwd = workspace.expand(step.cwd)
        env = self.environment(step, workspace)
        log.info("running %s (in %s)", " ".join(argv), cwd)
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
            )
        except FileNotFoundError:
            raise ToolNotFound(
                f"{argv[0]} is not installed (or not on PATH)",
                hint="run `wasmkit doctor` to see what is missing and how to install it",
            ) from None
        except NotADirectoryError:
            raise ProcessFailed(
                f"cannot run {argv[0]} in {cwd}", command=argv, returncode=None
            ) from None
        lines: list[str] = []
        timer = threading.Timer(self.timeout_s, process.kill)
        timer.start()
        try:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                if on_output is not None:
                    on_output(line.rstrip("\n"))
            returncode = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            timer.cancel()
        duration = time.monotonic() - started
        if not timer.is_alive() and returncode < 0 and duration >= self.timeout_s:
            lines.append(f"\n[wasmkit] stopped after {self.timeout_s:g} s\n")
        return StepResult(
            step=step, argv=argv, returncode=returncode, output="".join(lines), duration_s=duration
        )
