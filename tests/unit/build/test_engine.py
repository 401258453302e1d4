"""Finding a container engine, and what happens when none answers (no engine started)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from wasmkit.build.container import ContainerRunner
from wasmkit.build.engine import Engine, candidate_endpoints, engine_answers
from wasmkit.build.images import builder_image
from wasmkit.build.runner import Step, Workspace
from wasmkit.errors import EXIT_ENVIRONMENT, ServiceUnavailable


def test_docker_host_wins() -> None:
    assert candidate_endpoints({"DOCKER_HOST": "tcp://10.0.0.1:2375"}) == ["tcp://10.0.0.1:2375"]


def test_only_existing_sockets_are_candidates(tmp_path: Path) -> None:
    runtime = tmp_path / "run"
    (runtime / "podman").mkdir(parents=True)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(runtime / "podman" / "podman.sock"))
    try:
        found = candidate_endpoints({"XDG_RUNTIME_DIR": str(runtime)})
    finally:
        listener.close()
    assert f"unix://{runtime}/podman/podman.sock" in found
    assert f"unix://{runtime}/docker.sock" not in found


def test_a_socket_nobody_serves_is_service_unavailable(tmp_path: Path) -> None:
    dead = tmp_path / "dead.sock"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(dead))  # bound, never listening: connections are refused
    try:
        with pytest.raises(ServiceUnavailable) as caught:
            Engine.connect(f"unix://{dead}")
    finally:
        listener.close()
    error = caught.value
    assert error.exit_code == EXIT_ENVIRONMENT
    assert f"{dead}: connection refused" in error.message
    assert error.hint is not None and "podman system service" in error.hint
    assert "--runner local" in error.hint


def test_no_engine_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wasmkit.build.engine.candidate_endpoints", lambda: [])
    with pytest.raises(ServiceUnavailable, match="no container engine found"):
        Engine.connect()
    assert engine_answers() is None


def test_a_missing_socket_says_so(tmp_path: Path) -> None:
    with pytest.raises(ServiceUnavailable, match=r"none\.sock: no socket there"):
        Engine.connect(f"unix://{tmp_path}/none.sock")
    assert engine_answers(f"unix://{tmp_path}/none.sock") is None


def test_runner_reports_the_missing_engine_on_first_step(tmp_path: Path) -> None:
    runner = ContainerRunner(builder_image("cpp"), base_url=f"unix://{tmp_path}/none.sock")
    workspace = Workspace(src=tmp_path, out=tmp_path / "build", cache=tmp_path / "cache")
    with pytest.raises(ServiceUnavailable) as caught:
        runner.run(Step(("true",)), workspace)
    assert caught.value.exit_code == EXIT_ENVIRONMENT
