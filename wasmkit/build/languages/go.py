"""Go: ``github.com/proxy-wasm/proxy-wasm-go-sdk`` (pinned in the scaffold's go.mod/go.sum)
with Go's own ``wasip1`` target: ``GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared``
makes a WASI reactor that Envoy starts with ``_initialize``.

The SDK needs Go 1.24+ and, by its own README, Envoy 1.33+ (Istio 1.25+): it relies on host
functions added to Envoy's Wasm host then (Go's runtime imports WASI ``poll_oneoff`` and
``fd_fdstat_set_flags``, which Envoy 1.36 links; older ones were not tried). Go 1.25 and newer
are reported to call WASI functions that Envoy before 1.39 lacks, so for those platforms the
build pins ``GOTOOLCHAIN`` to Go 1.24, which the go command fetches once from the Go module
proxy into the module cache. A precaution: the scaffold built with Go 1.26 did pass its tests
on Envoy 1.36.2 here (both Go releases import the same WASI functions). Module and build
caches live under ``{cache}``; only ``go mod download`` goes online, the compile runs with
``GOPROXY=off``.
"""

from __future__ import annotations

import re

from wasmkit.abi import AbiVersion, PlatformRelease
from wasmkit.build.language import BuildContext, Language, Tool
from wasmkit.build.runner import Step
from wasmkit.errors import UsageError

#: The toolchain for platforms whose Envoy predates :data:`NEWEST_GO_FROM_ENVOY`.
GO_FOR_OLD_ENVOY = "go1.24.13"
#: Envoy (major, minor) from which the machine's own Go (1.25+) is fine.
NEWEST_GO_FROM_ENVOY = (1, 39)
#: The SDK's host requirement (proxy-wasm-cpp-host's extra WASI functions).
MIN_ENVOY = (1, 33)
INSTALL = "install Go 1.24 or newer (https://go.dev/doc/install); Debian 12's golang is too old"

_ENVOY_VERSION = re.compile(r"^(\d+)\.(\d+)")


def envoy_version(platform: PlatformRelease) -> tuple[int, int] | None:
    """The (major, minor) of the Envoy under ``platform``; None if the table says no number."""
    match = _ENVOY_VERSION.match(platform.envoy)
    return (int(match.group(1)), int(match.group(2))) if match else None


def toolchain_for(platform: PlatformRelease) -> str:
    """``GOTOOLCHAIN`` for ``platform``: Go 1.24 for older Envoys, else the local Go."""
    version = envoy_version(platform)
    if version is not None and version < NEWEST_GO_FROM_ENVOY:
        return GO_FOR_OLD_ENVOY
    return "local"


def environment(platform: PlatformRelease) -> dict[str, str]:
    return {
        "GOTOOLCHAIN": toolchain_for(platform),
        "GOMODCACHE": "{cache}/mod",
        "GOCACHE": "{cache}/build",
        "GOFLAGS": "-modcacherw",  # the cache can be deleted with rm -rf
        "GOWORK": "off",  # a go.work above the project must not change the build
    }


def download_argv() -> tuple[str, ...]:
    return ("go", "mod", "download")


def compile_argv(ctx: BuildContext, *, output: str = "{out}/filter.wasm") -> tuple[str, ...]:
    """The bare compiler command (run with GOOS=wasip1 GOARCH=wasm)."""
    mode = ("-trimpath", "-ldflags=-s -w") if ctx.release else ("-gcflags=all=-N -l",)
    return ("go", "build", "-buildmode=c-shared", *mode, "-o", output, *ctx.extra_args, ".")


def check_platform(platform: PlatformRelease) -> None:
    version = envoy_version(platform)
    if version is None or version < MIN_ENVOY:
        raise UsageError(
            f"the Go SDK needs Envoy 1.33 or newer; {platform.label} runs Envoy {platform.envoy}",
            hint="target a newer platform (istio 1.25+, envoy 1.33+), or write the filter in "
            "C++ or Rust",
        )


#: How the offline compile (-mod=readonly, GOPROXY=off) names an import go.mod lacks.
_MISSING_MODULE = re.compile(
    r"(?:cannot find module providing package|no required module provides package) ([^\s:;]+)"
)


def advise(output: str) -> str | None:
    """A package the code imports that go.mod does not require: `go get` adds it."""
    missing = list(dict.fromkeys(_MISSING_MODULE.findall(output)))
    if not missing:
        return None
    return (
        f"go.mod does not require {', '.join(missing)}: run `go get {' '.join(missing)}` in the "
        "project (it records the module in go.mod and go.sum), then `wasmkit build` again"
    )


def _steps(ctx: BuildContext) -> tuple[Step, ...]:
    check_platform(ctx.platform)
    env = environment(ctx.platform)
    offline = {**env, "GOOS": "wasip1", "GOARCH": "wasm", "GOPROXY": "off"}
    offline["GOFLAGS"] = "-modcacherw -mod=readonly"
    return (
        Step(download_argv(), env=env, description="go mod download (cached)", network=True),
        Step(compile_argv(ctx), env=offline, description="go build (GOOS=wasip1 GOARCH=wasm)"),
    )


LANGUAGE = Language(
    name="go",
    display_name="Go (proxy-wasm-go-sdk, Go's wasip1 target)",
    tools=(Tool("go", install=INSTALL, purpose="Go 1.24+", version_args=("version",)),),
    abis=(AbiVersion.V0_2_0,),
    steps=_steps,
    artifact=lambda ctx: "{out}/filter.wasm",
    image="wasmkit-builder-go",
    sources=("go.mod", "go.sum", "**/*.go"),
    # The SDK serves every root id with the one plugin context it registers.
    validate_root_id=False,
    check_platform=check_platform,
    advise=advise,
)
