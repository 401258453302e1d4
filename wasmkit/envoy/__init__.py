"""Adapter for the Envoy process: find the binary, render the harness bootstrap, own the process."""

from wasmkit.envoy.binary import EnvoyBinary, find_envoy
from wasmkit.envoy.bootstrap import Listener, render_bootstrap
from wasmkit.envoy.process import EnvoyProcess, load_failure_reason, validate_config
from wasmkit.envoy.upstream import CannedReply, EchoUpstream

__all__ = [
    "CannedReply",
    "EchoUpstream",
    "EnvoyBinary",
    "EnvoyProcess",
    "Listener",
    "find_envoy",
    "load_failure_reason",
    "render_bootstrap",
    "validate_config",
]
