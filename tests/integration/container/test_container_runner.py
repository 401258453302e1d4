"""The container runner against a real engine (podman's Docker API in CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from wasmkit.build.container import ContainerRunner
from wasmkit.build.engine import Engine, engine_answers
from wasmkit.build.images import BuilderImage, image_from_containerfile
from wasmkit.build.runner import Step, Workspace
from wasmkit.errors import EnvironmentProblem, ProcessFailed, ServiceUnavailable, ToolNotFound

pytestmark = pytest.mark.container


def test_image_is_built_on_first_use_and_reused_by_tag(
    engine: Engine, base_image: str, unique: str
) -> None:
    recipe = f"ARG BASE\nFROM ${{BASE}}\nRUN echo {unique} > /marker\n"
    image = image_from_containerfile(f"test-{unique}", recipe, base=base_image)
    progress: list[str] = []
    try:
        assert not engine.has_image(image.tag)
        started = time.monotonic()
        assert engine.ensure_image(image, progress.append) is True
        first = time.monotonic() - started
        assert engine.has_image(image.tag)
        assert any(unique in line for line in progress)  # the RUN step's progress streamed
        assert progress[0].startswith(f"building the test-{unique} builder image {image.tag}")
        assert progress[-1].startswith(f"built {image.tag} in ")
        assert all(line.strip() for line in progress)
        progress.clear()
        started = time.monotonic()
        assert engine.ensure_image(image, progress.append) is False
        reuse = time.monotonic() - started
        assert progress == []  # nothing to show when the image is there
        print(f"tiny image: first build {first:.2f} s, reuse {reuse * 1000:.0f} ms")
        assert reuse < 1.0
        labels = engine.client.images.get(image.tag).labels
        assert labels["org.wasmkit.digest"] == image.digest
    finally:
        engine.client.images.remove(image.tag, force=True)


def test_a_failing_image_build_keeps_the_log(engine: Engine, base_image: str, unique: str) -> None:
    recipe = f"ARG BASE\nFROM ${{BASE}}\nRUN echo {unique}-said-this && exit 7\n"
    image = image_from_containerfile(f"test-{unique}", recipe, base=base_image)
    with pytest.raises(ProcessFailed) as caught:
        engine.ensure_image(image)
    assert f"{unique}-said-this" in caught.value.output
    assert caught.value.hint is not None and "Containerfile" in caught.value.hint
    assert not engine.has_image(image.tag)


def test_missing_local_base_image_says_how_to_make_it(engine: Engine, unique: str) -> None:
    image = image_from_containerfile(
        "test", "ARG BASE\nFROM ${BASE}\n", base=f"localhost/nope-{unique}:1"
    )
    with pytest.raises(EnvironmentProblem) as caught:
        engine.ensure_image(image)
    assert caught.value.exit_code == 3
    assert f"localhost/nope-{unique}:1" in caught.value.message
    hint = caught.value.hint or ""
    assert "debootstrap" in hint and "WASMKIT_BUILDER_BASE=debian:bookworm" in hint


def test_step_runs_with_mounts_and_placeholders_mapped(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace
) -> None:
    (workspace.src / "sub").mkdir()
    (workspace.src / "input.txt").write_text("from the host\n")
    script = (
        "echo where=$WHERE; echo cwd=$(pwd); echo home=$HOME;"
        "cat {src}/input.txt > {out}/copied.txt; echo kept > {cache}/cached.txt"
    )
    step = Step(("sh", "-c", script), env={"WHERE": "{out}/x"}, cwd="{src}/sub")
    lines: list[str] = []
    result = ContainerRunner(plain_image, engine=engine).run(
        step, workspace, on_output=lines.append
    )
    assert result.returncode == 0, result.output
    assert result.argv[2].startswith("echo where=")
    assert "/src/input.txt > /out/copied.txt" in result.argv[2]
    # Inside, the mounts; in what the user sees, the host's paths again.
    assert lines == [
        f"where={workspace.out}/x",
        f"cwd={workspace.src}/sub",
        f"home={workspace.cache}/home",
    ]
    assert (workspace.out / "copied.txt").read_text() == "from the host\n"
    assert (workspace.cache / "cached.txt").read_text() == "kept\n"


def test_failing_step_returns_its_output(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace
) -> None:
    step = Step(("sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3"))
    result = ContainerRunner(plain_image, engine=engine).run(step, workspace)
    assert result.returncode == 3
    assert "to-stdout" in result.output and "to-stderr" in result.output


def test_files_are_written_as_the_given_user(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace
) -> None:
    # As if user 4321 ran wasmkit: their project, their cache.
    for path in (workspace.out, workspace.cache, workspace.cache / "home"):
        path.mkdir(parents=True)
        os.chown(path, 4321, 4322)
    runner = ContainerRunner(plain_image, engine=engine, user="4321:4322")
    result = runner.run(Step(("sh", "-c", "id -u; touch {out}/made")), workspace)
    assert result.returncode == 0, result.output
    assert result.output.strip() == "4321"
    made = (workspace.out / "made").stat()
    assert (made.st_uid, made.st_gid) == (4321, 4322)


def test_invoking_users_ids_are_the_default(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace
) -> None:
    runner = ContainerRunner(plain_image, engine=engine)
    result = runner.run(Step(("sh", "-c", "echo $(id -u):$(id -g)")), workspace)
    expected = "0:0" if engine.rootless else f"{os.getuid()}:{os.getgid()}"
    assert result.output.strip() == expected


def test_no_network_unless_the_step_fetches(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace
) -> None:
    runner = ContainerRunner(plain_image, engine=engine)
    offline = runner.run(Step(("ls", "/sys/class/net")), workspace)
    online = runner.run(Step(("ls", "/sys/class/net"), network=True), workspace)
    assert offline.output.split() == ["lo"]
    assert len(online.output.split()) > 1  # the host's interfaces


def test_fetching_step_trusts_what_the_host_trusts(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace
) -> None:
    host = Path("/etc/ssl/certs/ca-certificates.crt")
    if not host.is_file():
        pytest.skip("the host has no CA bundle at the Debian path")
    runner = ContainerRunner(plain_image, engine=engine)
    step = Step(
        ("sh", "-c", "cat /etc/ssl/certs/ca-certificates.crt; echo; echo $NODE_EXTRA_CA_CERTS"),
        network=True,
    )
    result = runner.run(step, workspace)
    assert host.read_text().strip() in result.output
    assert result.output.rstrip().endswith("/etc/ssl/certs/ca-certificates.crt")


def test_deadline_stops_the_step_and_the_container_is_removed(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace, unique: str
) -> None:
    runner = ContainerRunner(plain_image, engine=engine, timeout_s=1)
    started = time.monotonic()
    result = runner.run(Step(("sh", "-c", "echo begun; sleep 60"), description=unique), workspace)
    assert time.monotonic() - started < 20
    assert result.returncode != 0
    assert "begun" in result.output and "stopped after 1 s" in result.output
    left = engine.client.containers.list(all=True, filters={"label": f"org.wasmkit.step={unique}"})
    assert left == []


def test_containers_are_removed_after_success(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace, unique: str
) -> None:
    ContainerRunner(plain_image, engine=engine).run(Step(("true",), description=unique), workspace)
    left = engine.client.containers.list(all=True, filters={"label": f"org.wasmkit.step={unique}"})
    assert left == []


def test_a_tool_missing_from_the_image_is_tool_not_found(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace
) -> None:
    with pytest.raises(ToolNotFound) as caught:
        ContainerRunner(plain_image, engine=engine).run(Step(("no-such-compiler", "-v")), workspace)
    assert caught.value.exit_code == 3
    assert "no-such-compiler" in caught.value.message


def test_engine_going_away_mid_step_is_service_unavailable(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace, unique: str, tmp_path: Path
) -> None:
    """A private podman service, stopped while a step runs: exit 3, not a hang or a traceback."""
    if shutil.which("podman") is None:
        pytest.skip("needs podman to start a private service")
    url = f"unix://{tmp_path}/private.sock"
    service = subprocess.Popen(
        ["podman", "system", "service", "--time=0", url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while engine_answers(url) is None:
            assert time.monotonic() < deadline, "private podman service did not answer"
            time.sleep(0.1)
        runner = ContainerRunner(plain_image, base_url=url)
        killer = threading.Timer(2.0, service.kill)
        killer.start()
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable) as caught:
            runner.run(Step(("sh", "-c", "echo up; sleep 30"), description=unique), workspace)
        assert time.monotonic() - started < 25
        assert caught.value.exit_code == 3
        assert caught.value.hint is not None and "podman system service" in caught.value.hint
    finally:
        service.kill()
        service.wait()
        for left in engine.client.containers.list(
            all=True, filters={"label": f"org.wasmkit.step={unique}"}
        ):
            left.remove(force=True)


def test_ctrl_c_while_streaming_removes_the_container(
    engine: Engine, plain_image: BuilderImage, workspace: Workspace, unique: str
) -> None:
    def interrupt(line: str) -> None:
        raise KeyboardInterrupt

    runner = ContainerRunner(plain_image, engine=engine)
    step = Step(("sh", "-c", "echo first; sleep 60"), description=unique)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        runner.run(step, workspace, on_output=interrupt)
    assert time.monotonic() - started < 20
    left = engine.client.containers.list(all=True, filters={"label": f"org.wasmkit.step={unique}"})
    assert left == []
