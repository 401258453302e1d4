"""The proxy-wasm ABI versions and how a module announces them.

A module tells the host which ABI it speaks by exporting an empty function named
``proxy_abi_version_<major>_<minor>_<patch>``. Hosts accept a set of these
markers; Envoy since 1.17 accepts all three below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class AbiVersion(StrEnum):
    V0_1_0 = "0.1.0"
    V0_2_0 = "0.2.0"
    V0_2_1 = "0.2.1"

    @property
    def marker(self) -> str:
        """The export name that announces this version."""
        return "proxy_abi_version_" + self.value.replace(".", "_")

    @classmethod
    def from_marker(cls, name: str) -> AbiVersion | None:
        match = _MARKER.fullmatch(name)
        if not match:
            return None
        try:
            return cls(match.group(1).replace("_", "."))
        except ValueError:
            return None


_MARKER = re.compile(r"proxy_abi_version_(\d+_\d+_\d+)")

ABI_MARKER_PREFIX = "proxy_abi_version_"


# --- Platforms: what each Istio or Envoy release runs and accepts ---------------------------
#
# One table, from Istio's release records (docs/platforms.md has it with its sources). A
# version newer than the newest row is accepted as "like the newest" instead of refused: a
# hand-kept list that blocks every new release was wasme's mistake.


class EnvoyFilterForm(StrEnum):
    """How an Istio EnvoyFilter patch must spell the Wasm filter."""

    #: Istio 1.5/1.6: untyped `config:` struct, names envoy.http_connection_manager
    V2_CONFIG = "v2-config"
    TYPED_V2_OR_V3 = "typed"  # 1.7/1.8: `typed_config` required, v2 or v3 type URL
    V3 = "v3"  # 1.9-1.18: v3 only, old filter names still accepted with a warning
    V3_NEW_NAMES = "v3-new-names"  # 1.19+: envoy.filters.network.http_connection_manager etc.

    @property
    def typed(self) -> bool:
        """Whether the patch carries ``typed_config`` (1.7+) rather than an untyped ``config:``."""
        return self is not EnvoyFilterForm.V2_CONFIG

    @property
    def typed_struct(self) -> bool:
        """1.7/1.8 wrap the Wasm message in a ``udpa.type.v1.TypedStruct`` (istiod of that
        time resolved only the types it linked; a TypedStruct it passes through)."""
        return self is EnvoyFilterForm.TYPED_V2_OR_V3

    @property
    def listener_filter_names(self) -> tuple[str, str]:
        """(HTTP connection manager, router) as the patch's match must name them."""
        if self is EnvoyFilterForm.V2_CONFIG:
            return ("envoy.http_connection_manager", "envoy.router")
        return ("envoy.filters.network.http_connection_manager", "envoy.filters.http.router")

    @property
    def failure_policy_field(self) -> bool:
        """Envoy under Istio 1.19+ (1.27+) has ``failure_policy``; before, only ``fail_open``."""
        return self is EnvoyFilterForm.V3_NEW_NAMES


@dataclass(frozen=True)
class PlatformRelease:
    """One row of the platforms table."""

    platform: str  # "istio" | "envoy"
    version: str  # major.minor, e.g. "1.20"
    envoy: str  # the Envoy underneath, e.g. "1.28"
    abis: frozenset[AbiVersion]
    envoy_filter: EnvoyFilterForm | None  # None for plain Envoy (no Istio API)
    wasm_plugin: bool  # Istio's WasmPlugin (extensions.istio.io/v1alpha1)
    assumed: bool = False  # a version newer than the table, treated like the newest row

    @property
    def label(self) -> str:
        return f"{self.platform} {self.version}"

    @property
    def preferred_abi(self) -> AbiVersion:
        return max(self.abis, key=lambda v: tuple(int(p) for p in v.value.split(".")))


PLATFORMS = ("istio", "envoy")
_ALL = frozenset(AbiVersion)
_V01 = frozenset({AbiVersion.V0_1_0})


def _istio_rows() -> list[PlatformRelease]:
    rows = [
        PlatformRelease(
            "istio", "1.5", "1.14-dev (envoy-wasm fork)", _V01, EnvoyFilterForm.V2_CONFIG, False
        ),
        PlatformRelease(
            "istio", "1.6", "1.14 (envoy-wasm fork)", _V01, EnvoyFilterForm.V2_CONFIG, False
        ),
        PlatformRelease(
            "istio",
            "1.7",
            "1.15 (envoy-wasm fork)",
            frozenset({AbiVersion.V0_1_0, AbiVersion.V0_2_0}),
            EnvoyFilterForm.TYPED_V2_OR_V3,
            False,
        ),
        PlatformRelease("istio", "1.8", "1.16", _ALL, EnvoyFilterForm.TYPED_V2_OR_V3, False),
    ]
    for minor in range(9, 32):  # from 1.9 on, Envoy's minor is Istio's + 8
        form = EnvoyFilterForm.V3 if minor < 19 else EnvoyFilterForm.V3_NEW_NAMES
        rows.append(
            PlatformRelease("istio", f"1.{minor}", f"1.{minor + 8}", _ALL, form, minor >= 12)
        )
    return rows


def _envoy_rows() -> list[PlatformRelease]:
    # Upstream Envoy has had the Wasm filter since 1.17 (all three ABIs).
    return [PlatformRelease("envoy", f"1.{m}", f"1.{m}", _ALL, None, False) for m in range(17, 41)]


PLATFORM_TABLE: tuple[PlatformRelease, ...] = (*_istio_rows(), *_envoy_rows())

# major.minor, then an optional patch: a number, or `x` / `*` for "any patch of that minor" (the
# way release notes and the seed blog post write it: `1.5.x`), then an optional pre-release/build.
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.-]+)?$")


def release_minor(version: str) -> tuple[int, int] | None:
    """``(major, minor)`` of ``1.20``, ``1.20.3``, ``v1.5.10`` or ``1.5.x``; None if malformed."""
    match = _VERSION.match(version.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


def platform_versions(platform: str) -> list[str]:
    return [row.version for row in PLATFORM_TABLE if row.platform == platform]


def find_platform(platform: str, version: str) -> PlatformRelease:
    """The row for ``platform`` at ``version`` (``1.20``, ``1.20.3``, ``v1.5.10``, ``1.5.x``).

    Raises :class:`UsageError` (exit 2) for an unknown platform, a malformed version, or one
    older than the first release with Wasm; a newer minor than the table knows is assumed to
    behave like the newest row (``assumed=True``).
    """
    from wasmkit.errors import UsageError

    if platform not in PLATFORMS:
        raise UsageError(
            f"unknown platform {platform!r}",
            hint=f"use one of: {', '.join(PLATFORMS)} (see `wasmkit platforms`)",
        )
    rows = [row for row in PLATFORM_TABLE if row.platform == platform]
    known = f"{rows[0].version} to {rows[-1].version}"
    parsed = release_minor(version)
    if parsed is None:
        raise UsageError(
            f"{platform} version {version!r} is not a version number",
            hint=f"give major.minor, e.g. {rows[-1].version} or {rows[-1].version}.x "
            f"(known: {known})",
        )
    major, minor = parsed
    for row in rows:
        if row.version == f"{major}.{minor}":
            return row
    newest = rows[-1]
    newest_minor = int(newest.version.split(".")[1])
    if major == 1 and minor > newest_minor:
        return PlatformRelease(
            platform,
            f"{major}.{minor}",
            f"{newest.envoy}+" if platform == "istio" else f"{major}.{minor}",
            newest.abis,
            newest.envoy_filter,
            newest.wasm_plugin,
            assumed=True,
        )
    raise UsageError(
        f"{platform} {major}.{minor} cannot run Wasm filters (wasmkit knows {platform} {known})",
        hint="see `wasmkit platforms` for the supported versions",
    )
