"""Finding an Istio release's binaries, and what the recipe would do (no Go build here)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from wasmkit.errors import ToolNotFound, UsageError
from wasmkit.istio import install
from wasmkit.istio.check import parse_report
from wasmkit.istio.istiod import envoy_filter_status


def _binary(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WASMKIT_ISTIO_CACHE", str(tmp_path / "istio"))
    monkeypatch.delenv("WASMKIT_ISTIOD", raising=False)
    monkeypatch.delenv("WASMKIT_ISTIO_AGENT", raising=False)
    return tmp_path / "istio"


def test_minor_resolves_to_the_newest_known_patch(cache: Path) -> None:
    assert install.resolve_version("1.29") == "1.29.1"
    assert install.resolve_version("1.28") == "1.28.3"
    assert install.resolve_version("1.28.2") == "1.28.2"
    # as `init --platform-version` and `deploy --istio-version` read them
    assert install.resolve_version("1.29.x") == "1.29.1"
    assert install.resolve_version("v1.28.2") == "1.28.2"


def test_a_cached_patch_wins_over_the_table(cache: Path) -> None:
    _binary(cache / "1.28.2" / install.ISTIOD)
    assert install.resolve_version("1.28") == "1.28.2"


def test_unknown_minor_and_garbage_are_usage_errors(cache: Path) -> None:
    with pytest.raises(UsageError, match=r"knows no Istio 1\.7"):
        install.resolve_version("1.7")
    with pytest.raises(UsageError, match="not an Istio version"):
        install.resolve_version("latest")


def test_missing_release_says_how_to_install(cache: Path) -> None:
    with pytest.raises(ToolNotFound) as caught:
        install.find_istio("1.29")
    assert caught.value.exit_code == 3
    assert "wasmkit istio install 1.29.1" in (caught.value.hint or "")


def test_cached_release_and_explicit_overrides(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    istiod = _binary(cache / "1.29.1" / install.ISTIOD)
    agent = _binary(cache / "1.29.1" / install.AGENT)
    release = install.find_istio("1.29")
    assert (release.version, release.istiod, release.agent, release.check) == (
        "1.29.1",
        istiod,
        agent,
        None,
    )
    other = _binary(tmp_path / "elsewhere" / "pilot-discovery")
    monkeypatch.setenv("WASMKIT_ISTIOD", str(other))
    assert install.find_istio("1.29.1").istiod == other
    monkeypatch.setenv("WASMKIT_ISTIOD", str(tmp_path / "nope"))
    with pytest.raises(ToolNotFound, match="not an executable"):
        install.find_istio("1.29.1")


def test_ready_releases_lists_only_directories_with_istiod(cache: Path) -> None:
    _binary(cache / "1.29.1" / install.ISTIOD)
    (cache / "1.28.3").mkdir(parents=True)
    assert [r.version for r in install.ready_releases()] == ["1.29.1"]


def test_istio_check_sources_ship_with_wasmkit() -> None:
    names = [p.name for p in install.check_sources()]
    assert "main.go" in names


def test_check_report_is_typed() -> None:
    report = parse_report(
        {
            "istio": "1.29.1",
            "valid": False,
            "objects": [
                {
                    "kind": "EnvoyFilter",
                    "namespace": "demo",
                    "name": "old",
                    "checked": True,
                    "valid": True,
                    "errors": [],
                    "warnings": ['using deprecated filter name "envoy.router"'],
                },
                {
                    "kind": "WasmPlugin",
                    "namespace": "demo",
                    "name": "bad",
                    "checked": True,
                    "valid": False,
                    "errors": ["configuration is invalid: url field needs to be set"],
                    "warnings": [],
                },
            ],
        }
    )
    assert not report.valid
    assert report.warnings() == [
        'EnvoyFilter demo/old: using deprecated filter name "envoy.router"'
    ]
    assert report.errors() == [
        "WasmPlugin demo/bad: configuration is invalid: url field needs to be set"
    ]


def test_envoy_filter_status_metrics() -> None:
    metrics = "\n".join(
        [
            "# TYPE pilot_envoy_filter_status gauge",
            'pilot_envoy_filter_status{name="demo/old",result="skipped",type="listener"} 1',
            'pilot_envoy_filter_status{name="demo/new",result="applied",type="http_filter"} 1',
            'pilot_envoy_filter_status{name="demo/gone",result="applied",type="http_filter"} 0',
        ]
    )
    assert envoy_filter_status(metrics) == {"demo/old": "skipped", "demo/new": "applied"}


def test_agent_fetch_errors_are_read_from_its_log(tmp_path: Path) -> None:
    from wasmkit._process import ManagedProcess
    from wasmkit.istio.agent import Agent

    release = install.IstioRelease("1.29.1", tmp_path / "istiod", agent=tmp_path / "agent")
    agent = Agent(release, tmp_path, 1, namespace="ns", pod="p-0")
    agent.process = ManagedProcess("agent", ["true"], tmp_path)
    agent.process.log_path.write_text(
        "x\terror\twasm\terror in converting the wasm config to local: cannot fetch Wasm module"
        " oci://r/f:v1: 2 errors occurred:\n\t* plugin.wasm not found\n\t* layers must be 2\n"
        "\n. applying deny RBAC filter\n"
        "y\terror\twasm\terror in converting the wasm config to local: timeout. applying allow "
        "RBAC filter\n"
    )
    assert agent.fetch_errors() == [
        "cannot fetch Wasm module oci://r/f:v1: 2 errors occurred: * plugin.wasm not found "
        "* layers must be 2",
        "timeout",
    ]


def test_doctor_says_which_releases_are_ready(cache: Path) -> None:
    from wasmkit.tasks.doctor import diagnose

    def istio_lines() -> list[tuple[str, bool, str, str]]:
        report = diagnose(path="", engine=False)
        return [
            (c.name, c.present, c.detail, c.fix) for c in report.components if "istio" in c.name
        ]

    [(name, present, detail, fix)] = istio_lines()
    assert (name, present, fix) == ("istio", False, "wasmkit istio install 1.29.1")
    assert str(cache) in detail
    _binary(cache / "1.29.1" / install.ISTIOD)
    _binary(cache / "1.29.1" / install.AGENT)
    [(name, present, detail, fix)] = istio_lines()
    assert (name, present) == ("istio 1.29.1", False)
    assert "missing: istio-check" in detail
    _binary(cache / "1.29.1" / install.CHECK)
    [(name, present, detail, _)] = istio_lines()
    assert present and detail.endswith("+ agent + istio-check")


def test_auto_builds_when_the_image_registry_is_out_of_reach(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wasmkit.errors import ServiceUnavailable
    from wasmkit.oci import RegistryOptions
    from wasmkit.tasks.istio import IstioImages, install_release

    built: list[Path] = []
    monkeypatch.setattr(install, "_build_missing", lambda v, target, step: built.append(target))
    steps: list[str] = []
    nowhere = IstioImages(
        "127.0.0.1:1/istio/pilot:x", "127.0.0.1:1/istio/proxyv2:x",
        RegistryOptions(plain_http=True, timeout=2),
    )  # fmt: skip
    release = install_release("1.29.1", on_step=steps.append, images=nowhere)
    assert built == [cache / "1.29.1"] and release.obtained == ("build",)
    assert any("out of reach" in s and "Go module proxy" in s for s in steps), steps
    # asked for the images only, an unreachable registry is the error (exit 3)
    with pytest.raises(ServiceUnavailable) as caught:
        install_release("1.29.1", source="image", images=nowhere)
    assert caught.value.exit_code == 3
    # the build path alone never asks a registry
    steps.clear()
    install_release("1.29.1", on_step=steps.append, source="build", images=nowhere)
    assert steps == [] and len(built) == 2


def test_auto_builds_only_what_the_images_did_not_give(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wasmkit.errors import ServiceUnavailable

    missing_at_build: list[list[str]] = []

    def build(version: str, target: Path, step: object) -> None:
        names = (install.ISTIOD, install.AGENT)
        missing_at_build.append([n for n in names if not (target / n).exists()])

    def fetch(version: str, target: Path, name: str, step: object) -> str:
        if name == install.AGENT:
            raise ServiceUnavailable("cannot reach the registry docker.io")
        _binary(target / name)
        return f"pilot:{version}@sha256:x"

    monkeypatch.setattr(install, "_build_missing", build)
    release = install.install_istio("1.29.1", from_images=fetch)
    assert release.obtained == ("pilot:1.29.1@sha256:x", "build")
    assert missing_at_build == [[install.AGENT]]
    # with everything in place nothing is fetched: "cached"
    _binary(cache / "1.29.1" / install.AGENT)
    assert install.install_istio("1.29.1", from_images=fetch).obtained == ("cached",)
