"""pytest plugin: unit-test proxy-wasm filters in process, with the emulator.

Installed with wasmkit (entry point ``pytest11``); it only adds a fixture and two
options, so it costs nothing in projects that do not use it::

    def test_adds_hello(wasm_filter):
        f = wasm_filter("build/filter.wasm", root_id="add_header", configuration="world")
        response = f.send("GET", "/", {"x-user": "alice"})
        assert response.status == 200
        assert response.header("hello") == "world"
        assert any("configured" in line.message for line in f.logs)

``wasm_filter()`` without a module uses ``--wasm-module`` (or the ``wasm_module``
ini option), so one test file can run against each build of a filter.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from wasmkit.emulator import Filter

FilterFactory = Callable[..., "Filter"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wasmkit", "proxy-wasm filters (wasmkit emulator)")
    group.addoption(
        "--wasm-module",
        dest="wasm_module",
        default=None,
        help="the .wasm (or .wat) the wasm_filter fixture loads when a test names none",
    )
    parser.addini("wasm_module", "default module for the wasm_filter fixture", default="")


def _default_module(config: pytest.Config) -> Path | None:
    value = config.getoption("wasm_module") or config.getini("wasm_module")
    if not value:
        return None
    path = Path(str(value))
    return path if path.is_absolute() else Path(str(config.rootpath)) / path


@pytest.fixture
def wasm_filter(request: pytest.FixtureRequest) -> FilterFactory:
    """``wasm_filter(module=None, *, root_id, configuration, failure_policy, http_calls, ...)``.

    Starts the module as Envoy would (ModuleLoadError, with Envoy's reason, if it
    would not load) and returns a :class:`wasmkit.emulator.Filter`.
    """
    from wasmkit.emulator import load_filter

    def factory(module: str | Path | bytes | None = None, **kwargs: Any) -> Filter:
        chosen = module if module is not None else _default_module(request.config)
        if chosen is None:
            raise pytest.UsageError(
                "wasm_filter() needs a module: pass one, or set --wasm-module / wasm_module"
            )
        return load_filter(chosen, **kwargs)

    return factory
