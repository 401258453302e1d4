"""Interactive `wasmkit init` driven through a pseudo-terminal, as a user at a prompt."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path


class Terminal:
    """A child process whose stdin/stdout/stderr is a pty; read until text, then answer."""

    def __init__(self, argv: list[str], cwd: Path):
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, close_fds=True
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"did not see {text!r}; the terminal shows:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                assert chunk, f"the program ended before {text!r}:\n{self.seen}"
                self.seen += chunk.decode(errors="replace").replace("\r\n", "\n")
        return self.seen

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def wait(self, timeout: float = 30.0) -> int:
        try:
            while self.process.poll() is None:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if ready:
                    try:
                        self.seen += os.read(self.master, 4096).decode(errors="replace")
                    except OSError:
                        break
                timeout -= 0.2
                assert timeout > 0, self.seen
            return self.process.wait(timeout=5)
        finally:
            os.close(self.master)


def test_missing_choices_are_asked_with_choices_and_defaults(tmp_path: Path) -> None:
    term = Terminal([sys.executable, "-m", "wasmkit", "init", "my-proj"], cwd=tmp_path)
    term.expect("language: cpp, rust, assemblyscript, go")
    term.expect("[cpp]: ")
    term.send("cobol")  # not a choice: asked again
    term.expect("is not one of")
    term.send("")  # the default
    term.expect("platform: istio, envoy")
    term.expect("[istio]: ")
    term.send("envoy")
    term.expect("envoy version [1.40]: ")
    term.send("1.36")
    term.expect("root id [add_header]: ")
    term.send("my_root")
    term.expect("project name [my-proj]: ")
    term.send("")
    assert term.wait() == 0, term.seen
    assert "created my-proj" in term.seen
    text = (tmp_path / "my-proj" / "wasmkit.yaml").read_text()
    assert "language: cpp" in text and "rootId: my_root" in text and "name: my-proj" in text
    assert 'platform: {name: envoy, version: "1.36"}' in text


def test_flags_given_are_not_asked(tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "wasmkit", "init", "p", "-l", "assemblyscript", "-p", "istio"]
    term = Terminal(argv, cwd=tmp_path)
    term.expect("istio version [1.31]: ")
    assert "language:" not in term.seen
    term.seen = ""
    term.send("1.4")  # too old: said at once, and asked again
    term.expect("istio 1.4 cannot run Wasm filters")
    term.expect("istio version [1.31]: ", timeout=10)
    term.seen = ""
    term.send("1.20")
    term.expect("root id [add_header]: ")
    term.send("")
    term.expect("project name [p]: ")
    term.send("")
    assert term.wait() == 0, term.seen
    assert 'version: "1.20"' in (tmp_path / "p" / "wasmkit.yaml").read_text()
