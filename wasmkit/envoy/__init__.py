"""Adapter for the Envoy process: find the binary, render the harness bootstrap, own the process."""

from wasmkit.envoy.binary import EnvoyBinary, find_envoy
from wasmkit.envoy.bootstrap import Listener, bootstrap_config, render_bootstrap
from wasmkit.envoy.logs import load_failure_reason
from wasmkit.envoy.process import EnvoyProcess, Validation, start_checked, validate_config
from wasmkit.envoy.upstream import CannedReply, EchoUpstream

__all__ = [
    "CannedReply",
    "EchoUpstream",
    "EnvoyBinary",
    "EnvoyProcess",
    "Listener",
    "Validation",
    "bootstrap_config",
    "find_envoy",
    "load_failure_reason",
    "render_bootstrap",
    "start_checked",
    "validate_config",
]
