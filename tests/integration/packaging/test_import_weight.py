"""What a command imports is what every run of it pays: heavy libraries stay off paths that
do not use them (a fresh interpreter per case: the test session has imported everything)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


def _imported(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return {name.split(".")[0] for name in done.stdout.split()}


@pytest.mark.parametrize(
    ("path", "statement", "absent"),
    [
        (
            "wasmkit test on Envoy",
            "import wasmkit.cli.test, wasmkit.tasks.test, wasmkit.testing.envoy_engine;"
            "from wasmkit.testing import make_engines; make_engines('envoy')",
            # jinja2: the harness bootstrap is built as data; xml: only for --junit-xml.
            {"wasmtime", "grpc", "jinja2", "markupsafe", "xml"},
        ),
        (
            # What runs before wasmkit test starts Envoy from the suite's last layout: the
            # suite's models load while Envoy starts (wasmkit.envoy.harness).
            "wasmkit test until Envoy starts",
            "import wasmkit.cli.main, wasmkit.cli.test, wasmkit.tasks.test, wasmkit.envoy.harness",
            {"pydantic", "pydantic_core", "yaml", "jinja2", "wasmtime"},
        ),
        ("the emulator engine", "import wasmkit.testing.emulator_engine", {"grpc"}),
        ("a .wat module file", "from wasmkit.emulator.wat import module_file", {"wasmtime"}),
        (
            "push and pull",
            "import wasmkit.cli.oci, wasmkit.tasks.push, wasmkit.oci.transfer",
            {"wasmtime", "jinja2", "requests", "urllib3"},
        ),
        ("the CLI's group", "import wasmkit.cli.main", {"wasmtime", "requests", "pydantic"}),
    ],
)
def test_a_path_does_not_import_what_it_does_not_use(
    path: str, statement: str, absent: set[str]
) -> None:
    assert not _imported(statement) & absent, path


def test_the_emulator_still_loads_on_first_use() -> None:
    assert "wasmtime" in _imported("from wasmkit.emulator import load_filter")
