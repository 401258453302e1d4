"""Will this proxy load this module? The one answer, per platform row, in Envoy's order.

Everyone asks here: the build check (``wasmkit build``, for the project's platform row),
``wasmkit test`` (the bundled Envoy) and the emulator (which refuses exactly what Envoy
refuses, with Envoy's words). Envoy (proxy-wasm-cpp-host) checks, in this order:

1. the ABI marker: an exported ``proxy_abi_version_*`` it knows ("Missing or unknown
   Proxy-Wasm ABI version"), and, on a platform row, one the row's proxy speaks;
2. every import, in the module's order: linked by the host ("missing import") with the
   same signature ("import type mismatch"). What is linked depends on the Envoy release
   (:func:`wasmkit.host.host_modules`) and on the ABI: ``proxy_get_configuration`` is linked
   only into modules that announce ABI 0.1.0;
3. an exported memory, then an allocator (``malloc`` or ``proxy_on_memory_allocate``).

``docs/platforms.md`` lists the rows and where each fact comes from.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wasmkit.abi import AbiVersion, PlatformRelease
from wasmkit.errors import ModuleError
from wasmkit.host import ABI_0_1_0_ONLY, Signature, host_modules
from wasmkit.module import ModuleInfo


@dataclass(frozen=True)
class Problem:
    """One reason a host would refuse the module."""

    code: str  # no-abi, bad-abi, missing-import, bad-signature, no-memory, no-allocator
    message: str  # wasmkit's sentence, naming the host
    envoy_says: str = ""  # Envoy's own log words for it ("" where Envoy has none)


def host_for(
    info: ModuleInfo, envoy_version: str | None = None
) -> Mapping[str, Mapping[str, Signature]]:
    """What the Envoy release ``envoy_version`` (None: the bundled one) links into ``info``."""
    host = host_modules(envoy_version)
    if AbiVersion.V0_1_0 not in info.abi_versions:
        return host
    return {**host, "env": {**host["env"], **ABI_0_1_0_ONLY}}


def _types(sig: Signature) -> str:
    return f"{' '.join(sig.params)} -> {' '.join(sig.results)}".strip()


def load_problems(
    info: ModuleInfo,
    *,
    accepted_abis: Iterable[AbiVersion] = tuple(AbiVersion),
    envoy_version: str | None = None,
    host_name: str = "Envoy",
) -> list[Problem]:
    """Every reason the host would refuse ``info``, in the order Envoy checks them."""
    problems: list[Problem] = []
    accepted = set(accepted_abis)
    if not info.abi_versions:
        extra = (
            f" (unknown marker {', '.join(info.unknown_abi_markers)})"
            if info.unknown_abi_markers
            else ""
        )
        problems.append(
            Problem(
                "no-abi",
                f"the module exports no proxy_abi_version_* marker{extra}",
                "Missing or unknown Proxy-Wasm ABI version",
            )
        )
    elif not accepted.intersection(info.abi_versions):
        have = ", ".join(v.value for v in info.abi_versions)
        want = ", ".join(sorted(v.value for v in accepted))
        problems.append(
            Problem("bad-abi", f"the module speaks ABI {have}; {host_name} here accepts {want}")
        )
    host = host_for(info, envoy_version)
    for imp in info.imports:
        expected = host.get(imp.module, {}).get(imp.name)
        if imp.kind != "func" or expected is None:
            problems.append(
                Problem(
                    "missing-import",
                    f"import {imp.qualified} is not provided by {host_name}",
                    f"Failed to load Wasm module due to a missing import: {imp.qualified}",
                )
            )
        elif imp.signature != expected:
            want = _types(imp.signature) if imp.signature else "?"
            problems.append(
                Problem(
                    "bad-signature",
                    f"import {imp.qualified} has signature {imp.signature}; "
                    f"{host_name} provides {expected}",
                    "Failed to load Wasm module due to an import type mismatch: "
                    f"{imp.qualified}, want: {want}, but host exports: {_types(expected)}",
                )
            )
    if not info.has_memory:
        problems.append(
            Problem(
                "no-memory",
                "the module exports no memory named 'memory'",
                "Wasm module is missing memory export",
            )
        )
    if info.allocator is None:
        problems.append(
            Problem(
                "no-allocator",
                "the module exports neither malloc nor proxy_on_memory_allocate",
                "Wasm module is missing malloc function.",
            )
        )
    return problems


def platform_problems(info: ModuleInfo, platform: PlatformRelease) -> list[Problem]:
    """:func:`load_problems` for the proxy of one row of the platforms table."""
    return load_problems(
        info, accepted_abis=platform.abis, envoy_version=platform.envoy, host_name=platform.label
    )


def envoy_refusal(info: ModuleInfo) -> str | None:
    """The words the bundled Envoy logs when it refuses ``info`` (the first problem), or None."""
    for problem in load_problems(info):
        if problem.envoy_says:
            return problem.envoy_says
    return None


def require_loadable(info: ModuleInfo, platform: PlatformRelease | None = None) -> None:
    """ModuleError (exit 2) listing every problem (the first one's hint) for ``platform``'s
    proxy (None: the bundled Envoy)."""
    problems = platform_problems(info, platform) if platform else load_problems(info)
    if problems:
        lines = "\n".join(f"  - {p.message}" for p in problems)
        raise ModuleError(
            f"{info.path or 'the module'} would not load in Envoy:\n{lines}",
            hint=_HINTS.get(problems[0].code, "see the proxy-wasm ABI spec"),
        )


_HINTS = {
    "no-abi": "build with a proxy-wasm SDK; it exports the ABI marker for you",
    "bad-abi": "rebuild with an SDK that targets the platform's ABI (see wasmkit platforms)",
    "no-memory": "the module must export its linear memory as 'memory'",
    "no-allocator": "export malloc (C/C++: link wasi-libc; AssemblyScript: the runtime does)",
    "missing-import": "remove the call, or use what the host provides (AssemblyScript: "
    "build with --use abort=abort_proc_exit instead of importing env.abort)",
    "bad-signature": "the SDK and the host disagree on a function: update the SDK",
}
