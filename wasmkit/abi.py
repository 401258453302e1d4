"""The proxy-wasm ABI versions and how a module announces them.

A module tells the host which ABI it speaks by exporting an empty function named
``proxy_abi_version_<major>_<minor>_<patch>``. Hosts accept a set of these
markers; Envoy since 1.17 accepts all three below.
"""

from __future__ import annotations

import re
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

#: What current Envoy (and so wasmkit's harness) accepts.
ENVOY_ABIS = frozenset(AbiVersion)
