"""Finding 8 of the hostile-input probe: text from a registry, an image or a test file never
reaches the terminal as escape sequences, and JUnit XML stays well-formed.

Hostile text: clear screen (CSI 2J), a window title and the clipboard (OSC 0 / OSC 52, which a
terminal acts on), a bell, a form feed, a right-to-left override. Each must come out as visible
escapes (``\\x1b``), in errors, tables, ``inspect``, the test report and JUnit XML alike.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import compile_wat
from tests.integration.oci.conftest import Result
from tests.integration.oci.fake_registry import FakeRegistry
from tests.integration.oci.hostile import HostileServer, Reply, Request
from wasmkit._text import printable
from wasmkit.oci import LocalStore

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x0c\u202egnp.exe"
RAW = ("\x1b", "\x07", "\x0c", "\u202e", "\x9b")


def _clean(*texts: str) -> None:
    for text in texts:
        for char in RAW:
            assert char not in text, f"{char!r} reached the terminal: {text[-300:]!r}"


def test_printable_keeps_text_and_escapes_controls() -> None:
    assert printable("héllo\tworld\nnext 世界") == "héllo\tworld\nnext 世界"
    assert printable("\x1b[2J") == "\\x1b[2J"
    assert printable("a\x9bb\u202ec\ud800d\ufffe") == "a\\x9bb\\u202ec\\ud800d\\ufffe"
    assert printable("\r\n") == "\\x0d\n"


@pytest.mark.registry
def test_registry_error_text(wasmkit: Callable[..., Result], store: LocalStore) -> None:
    body = json.dumps({"errors": [{"code": "DENIED", "message": HOSTILE}]}).encode()

    def handle(request: Request) -> Reply:
        return Reply(400, body, {"Content-Type": "application/json"})

    with HostileServer(handle).serve() as registry:
        result = wasmkit("pull", f"{registry.host}/x/y:v1", "--plain-http")
    assert result.code == 2 and "\\x1b]52;c;" in result.err
    _clean(result.out, result.err)


@pytest.mark.registry
def test_root_ids_and_annotations_from_an_image(
    wasmkit: Callable[..., Result], store: LocalStore, module: Path
) -> None:
    config = json.dumps(
        {"type": "envoy_proxy", "abiVersions": [HOSTILE], "config": {"rootIds": [HOSTILE]}}
    ).encode()
    with FakeRegistry().serve() as fake:
        fake.add_image(
            "x/t",
            "v1",
            config,
            [("application/vnd.module.wasm.content.layer.v1+wasm", module.read_bytes())],
            config_type="application/vnd.module.wasm.config.v1+json",
        )
        ref = f"{fake.host}/x/t:v1"
        pulled = wasmkit("-v", "pull", ref, "--plain-http")
    assert pulled.code == 0, pulled.err
    listed = wasmkit("images")
    shown = wasmkit("inspect", ref)
    assert "\\x1b" in shown.out
    _clean(pulled.out, pulled.err, listed.out, listed.err, shown.out, shown.err)


def test_case_names_and_observed_values_in_the_report_and_junit(
    tmp_path: Path, wasmkit: Callable[..., Result]
) -> None:
    module = compile_wat("add_header", tmp_path)
    spec = tmp_path / "t.yaml"
    spec.write_text(
        json.dumps(
            {
                "rootId": "add_header",
                "config": HOSTILE,
                "cases": [{"name": "case " + HOSTILE, "expect": {"headers": {"hello": "x"}}}],
            }
        )
    )
    junit = tmp_path / "junit.xml"
    result = wasmkit(
        "test",
        "-m",
        str(module),
        "-f",
        str(spec),
        "--engine",
        "emulator",
        "--junit-xml",
        str(junit),
    )
    assert result.code == 1, result.err
    assert "case \\x1b[2J" in result.out
    _clean(result.out, result.err)
    suite = ET.parse(junit).getroot()  # well-formed
    names = [case.get("name") or "" for case in suite.iter("testcase")]
    assert any(name.startswith("case \\x1b[2J") for name in names)
    _clean(junit.read_text())
