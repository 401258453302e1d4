"""``wasmkit test``: a project's (or a given) module and suite, the Envoy to use, the run.

:mod:`wasmkit.project` and :mod:`wasmkit.testing` do not know each other; this module reads
the project, picks the Envoy release, makes the engines, runs the suite and writes the JUnit
report. The CLI prints the result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from wasmkit._atomic import write_atomic
from wasmkit._projectfile import PROJECT_FILE, find_project_file
from wasmkit.abi import find_platform
from wasmkit.emulator.wat import module_file
from wasmkit.envoy.binary import find_envoy
from wasmkit.envoy.harness import EarlyStart, early_start_key
from wasmkit.errors import UsageError, WasmkitError
from wasmkit.filter import filter_name_for
from wasmkit.module import cache_dir

# pydantic (the suite's models) and wasmkit.testing load inside the functions: a run on Envoy
# starts Envoy first (run_filter_tests), and Envoy starts while they load.
if TYPE_CHECKING:
    from wasmkit._validation import ConfigValue
    from wasmkit.project import Platform
    from wasmkit.testing import Engine, SuiteResult, TestInputs

SUITE_HINT = "see `wasmkit test --help` and the README for the test file format"


def resolve_inputs(
    *,
    project_dir: Path | None = None,
    module: Path | None = None,
    test_file: Path | None = None,
    root_id: str | None = None,
    config: ConfigValue | None = None,
) -> TestInputs:
    """A project's wasmkit.yaml supplies defaults; flags override them."""
    from wasmkit._validation import load_model
    from wasmkit.testing import TestInputs
    from wasmkit.testspec import Suite

    if project_dir is not None or module is None or test_file is None:
        # wasmkit.project (its models) loads only when a project is read.
        from wasmkit.project import load_project

        loaded = load_project(project_dir or Path.cwd())
        project = loaded.project
        suite = load_model(test_file, Suite, hint=SUITE_HINT) if test_file else project.tests
        if suite is None:
            raise UsageError(
                f"{loaded.root / PROJECT_FILE} has no tests",
                hint="add a `tests:` suite to wasmkit.yaml, or pass --file TESTS.yaml",
            )
        return TestInputs(
            module_path=module_file(module or loaded.module_path),
            source_path=module or loaded.module_path,
            platform_envoy=_platform_envoy(project.platform),
            suite=suite,
            filter_name=project.name,
            root_id=root_id
            if root_id is not None
            else (suite.root_id if suite.root_id is not None else project.root_id),
            config=config
            if config is not None
            else (suite.config if suite.config is not None else project.config),
        )
    suite = load_model(test_file, Suite, hint=SUITE_HINT)
    return TestInputs(module_file(module), suite, filter_name_for(module), root_id, config, module)


def _platform_envoy(platform: Platform | None) -> str | None:
    if platform is None:
        return None
    envoy = find_platform(platform.name, platform.version).envoy
    match = re.match(r"^\d+\.\d+$", envoy)  # not "1.14-dev (envoy-wasm fork)" nor "1.39+"
    return envoy if match else None


@dataclass(frozen=True)
class TestRequest:
    """What ``wasmkit test`` was asked to test and where (every field optional)."""

    __test__ = False  # not a pytest class

    project_dir: Path | None = None
    module: Path | None = None
    test_file: Path | None = None
    root_id: str | None = None
    config: ConfigValue | None = None
    engine: str = "envoy"  # envoy | emulator | both
    envoy_path: str | None = None
    envoy_version: str | None = None  # "platform": the project's platform's release
    #: Run through a real istiod of this Istio release (``wasmkit test --istio``).
    istio: str | None = None
    istio_api: str = "envoyfilter"  # envoyfilter | wasmplugin
    istio_source: str | None = None  # cache | file | oci (default: per api)
    image: str | None = None  # --source oci: the stored, pushed image
    istiod: str | None = None
    istio_agent: str | None = None


@dataclass(frozen=True)
class Prepared:
    """The inputs to test and the Envoy binary to test them in (None: the bundled one)."""

    inputs: TestInputs
    envoy_path: str | None


def prepare(request: TestRequest, notify: Callable[[str], None] = lambda _: None) -> Prepared:
    """Resolve module and suite (flags override the project), then the Envoy to use."""
    if (
        (request.module is None) != (request.test_file is None)
        and request.project_dir is None
        and not Path(PROJECT_FILE).is_file()
    ):
        raise UsageError(
            "give both --module and --file, or run in a project directory",
            hint="wasmkit test --module filter.wasm --file tests.yaml",
        )
    inputs = resolve_inputs(
        project_dir=request.project_dir,
        module=request.module,
        test_file=request.test_file,
        root_id=request.root_id,
        config=request.config,
    )
    envoy_path, envoy_version = request.envoy_path, request.envoy_version
    if envoy_version == "platform":
        if inputs.platform_envoy is None:
            raise UsageError(
                "--envoy-version platform needs a project whose platform names an Envoy release",
                hint="give a version instead, e.g. --envoy-version 1.36",
            )
        envoy_version = inputs.platform_envoy
    if envoy_version is not None:
        if envoy_path is not None:
            raise UsageError("give --envoy or --envoy-version, not both")
        from wasmkit.envoy.versions import ensure_envoy

        envoy_path = str(ensure_envoy(envoy_version).path)
    elif (
        envoy_path is None
        and inputs.platform_envoy
        and request.engine != "emulator"
        and request.istio is None  # --istio runs the release's own Envoy
    ):
        _note_platform_envoy(notify, inputs.platform_envoy)
    return Prepared(inputs, envoy_path)


def _note_platform_envoy(notify: Callable[[str], None], platform_envoy: str) -> None:
    from wasmkit.envoy.binary import find_envoy

    bundled = find_envoy().version
    if not bundled.startswith(platform_envoy + "."):
        notify(
            f"note: the project targets Envoy {platform_envoy}; testing in the bundled Envoy "
            f"{bundled} (--envoy-version platform tests in {platform_envoy})"
        )


def run_filter_tests(
    request: TestRequest,
    *,
    select: str | None = None,
    artifacts_dir: Path | None = None,
    junit_path: Path | None = None,
    request_timeout_s: float = 10.0,
    startup_timeout_s: float | None = None,
    notify: Callable[[str], None] = lambda _: None,
) -> SuiteResult:
    """``wasmkit test``: prepare, run on the request's engine(s), write JUnit if asked."""
    early = _early_start(request, select, artifacts_dir)
    try:
        from wasmkit.testing import make_engines, run_tests

        prepared = prepare(request, notify)
        if request.istio is not None:
            engines = [_mesh_engine(request, prepared, artifacts_dir, request_timeout_s)]
        else:
            engines = make_engines(
                request.engine,
                envoy=prepared.envoy_path,
                artifacts_dir=artifacts_dir,
                request_timeout_s=request_timeout_s,
                startup_timeout_s=startup_timeout_s,
                early=early,
            )
        result = run_tests(prepared.inputs, engines, select=select)
    finally:
        if early is not None:
            early.close()  # an Envoy no engine took
    if junit_path is not None:
        from wasmkit.testing import junit_xml

        junit_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(junit_path, junit_xml(result))
    return result


def _early_start(
    request: TestRequest, select: str | None, artifacts_dir: Path | None
) -> EarlyStart | None:
    """On a local Envoy: the suite's remembered layout, and Envoy started from it if there
    is one (:mod:`wasmkit.envoy.harness`). The key names the suite by its files' paths (the
    test file, the project's wasmkit.yaml), not their bytes: an edited expectation leaves the
    layout as it was, and an edited configuration costs one Envoy started for nothing. Nothing
    here may fail the run: what is wrong with the inputs, the run itself reports."""
    if (
        request.engine == "emulator"
        or request.istio is not None
        or request.envoy_version is not None
        or artifacts_dir is not None
    ):
        return None
    from wasmkit import __version__

    try:
        project = None
        if request.project_dir is not None or request.module is None or request.test_file is None:
            project = find_project_file(request.project_dir or Path.cwd()).resolve()
        tests = request.test_file.resolve() if request.test_file is not None else None
        module = module_file(request.module).resolve() if request.module is not None else None
        binary = find_envoy(request.envoy_path)
    except (OSError, WasmkitError):
        return None
    key = early_start_key(
        __version__, str(project), str(tests), str(module), request.root_id, request.config, select
    )
    early = EarlyStart(key, cache_dir())
    # A project's wasmkit.yaml names its module; --module must be the remembered layout's.
    early.start(binary, module)
    return early


def _mesh_engine(
    request: TestRequest, prepared: Prepared, artifacts_dir: Path | None, request_timeout_s: float
) -> Engine:
    if request.engine != "envoy" or request.envoy_path or request.envoy_version:
        raise UsageError(
            "--istio runs the release's own Envoy as the sidecar; it does not combine with "
            "--engine, --envoy or --envoy-version",
            hint="drop those flags, or drop --istio",
        )
    assert request.istio is not None
    from wasmkit.mesh import mesh_engine

    return mesh_engine(
        _istio_version(request),
        prepared.inputs.module_path,
        api=request.istio_api,
        source=request.istio_source,
        image=request.image,
        istiod=request.istiod,
        agent=request.istio_agent,
        artifacts_dir=artifacts_dir,
        request_timeout_s=request_timeout_s,
    )


def _istio_version(request: TestRequest) -> str:
    """``--istio platform``: the Istio release of the project's platform."""
    assert request.istio is not None
    if request.istio != "platform":
        return request.istio
    from wasmkit.project import load_project

    platform = load_project(request.project_dir or Path.cwd()).project.platform
    if platform is None or platform.name != "istio":
        raise UsageError(
            "--istio platform needs a project whose platform is Istio",
            hint="give a release instead, e.g. --istio 1.29",
        )
    return platform.version
