"""wasmkit.loadcheck: one answer to "will this proxy load this module", per platform row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wasmkit.abi import find_platform
from wasmkit.build.checks import check_static
from wasmkit.emulator import load_filter
from wasmkit.module import inspect_file
from wasmkit.testing.runner import inspect_for_test

Wat = Callable[[str], Path]


def test_an_istio_1_5_cpp_module_on_abi_0_1_0_loads_everywhere_envoy_loads_it(wat: Wat) -> None:
    module = wat("abi_0_1_0_config")
    # wasmkit test predicts no load problem (Envoy 1.40 links proxy_get_configuration for 0.1.0)
    assert inspect_for_test(module)[1] == ()
    # the build check for the platform row Istio 1.5 accepts it
    assert check_static(module, find_platform("istio", "1.5")).path == module
    # and the emulator runs it as Envoy does: the configuration reaches the filter
    response = load_filter(module, configuration="from-0.1.0").send("GET", "/")
    assert response.upstream is not None
    assert ("x-config", "from-0.1.0") in response.upstream.headers
    assert inspect_file(module).abi_versions[0].value == "0.1.0"
