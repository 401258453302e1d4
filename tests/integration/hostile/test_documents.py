"""Finding 4 of the hostile-input probe: every YAML/JSON document wasmkit reads is bounded.

Each hostile document (a 541-byte YAML alias bomb, nesting 100 000 levels deep, a recursive
alias) is handed to a real ``wasmkit`` process with 1 GiB of address space and 60 s: it must
end with exit 2, a ``hint:`` line and no traceback, whichever document it was (a test file,
wasmkit.yaml, Docker's config.json, wasmkit's credentials.json).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, compile_wat
from tests.integration.oci.hostile import HostileServer, Reply, Request

MEMORY = 1 << 30
SECONDS = 60


# A valid test file and wasmkit.yaml, so that only the hostile part (``config:``) is wrong.
CASES = "cases: [{name: a, request: {path: /}, expect: {status: 200}}]\n"
PROJECT = f"name: f\nrootId: add_header\nmodule: add_header.wasm\ntests:\n  {CASES}"


def alias_bomb() -> str:
    """The classic "billion laughs" in ``config`` (any JSON): 10^8 leaves from ~540 bytes."""
    lines = ['  - &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"  - &{level} [{','.join(['*' + previous] * 9)}]")
    return "config:\n" + "\n".join(lines) + "\n"


DOCUMENTS = {
    "alias bomb": alias_bomb(),
    "deep yaml": "config: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep yaml mapping": "config:\n" + "".join("  " * i + f"k{i}:\n" for i in range(1, 300)),
    "recursive alias": "config: &c [*c]\n",
}
JSON_DOCUMENTS = {
    "deep json": '{"auths": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "json that is not an object": "[1, 2]",
    "json that is not json": "{auths: }",
}


def run_bounded(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str, float]:
    """Run wasmkit with bounded memory and time; (exit code, stderr, seconds)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "wasmkit", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=SECONDS,
        preexec_fn=limit,
        check=False,
    )
    return done.returncode, done.stderr, time.monotonic() - start


def _refused(code: int, err: str) -> None:
    assert code == 2, err[-2000:]
    assert "hint:" in err and "Traceback" not in err and "MemoryError" not in err


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_hostile_test_file(tmp_path: Path, name: str) -> None:
    module = compile_wat("add_header", tmp_path)
    spec = tmp_path / "tests.yaml"
    spec.write_text(CASES + DOCUMENTS[name])
    code, err, _ = run_bounded("test", "--module", str(module), "--file", str(spec), cwd=tmp_path)
    _refused(code, err)
    assert str(spec) in err


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_a_hostile_wasmkit_yaml(tmp_path: Path, name: str) -> None:
    compile_wat("add_header", tmp_path)
    (tmp_path / "wasmkit.yaml").write_text(PROJECT + DOCUMENTS[name])
    code, err, _ = run_bounded("test", cwd=tmp_path)
    _refused(code, err)
    assert "wasmkit.yaml" in err


def _basic_challenge(request: Request) -> Reply:
    return Reply(401, headers={"WWW-Authenticate": 'Basic realm="r"'})


@pytest.mark.parametrize("name", sorted(JSON_DOCUMENTS))
@pytest.mark.parametrize("which", ["docker", "wasmkit"])
def test_a_hostile_credentials_file(tmp_path: Path, name: str, which: str) -> None:
    home, docker = tmp_path / "home", tmp_path / "docker"
    target = (docker / "config.json") if which == "docker" else (home / "credentials.json")
    target.parent.mkdir(parents=True)
    target.write_text(JSON_DOCUMENTS[name])
    with HostileServer(_basic_challenge).serve() as registry:  # asks for a credential
        code, err, _ = run_bounded(
            "pull",
            f"{registry.host}/x/y:v1",
            "--plain-http",
            cwd=tmp_path,
            env={"WASMKIT_HOME": str(home), "DOCKER_CONFIG": str(docker)},
        )
    _refused(code, err)
    assert str(target) in err
