"""Reading a module's interface without compiling it, and refusing malformed bytes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from wasmkit._wasmbin import FuncType, read_interface
from wasmkit.errors import WasmFormatError

Wat = Callable[[str], Path]


def test_imports_and_exports_with_signatures(wat: Wat) -> None:
    interface = read_interface(wat("add_header").read_bytes())
    imports = {f"{i.module}.{i.name}": i for i in interface.imports}
    assert imports["env.proxy_log"].type == FuncType(("i32", "i32", "i32"), ("i32",))
    assert imports["env.proxy_send_local_response"].type == FuncType(("i32",) * 8, ("i32",))
    exports = {e.name: e for e in interface.exports}
    assert exports["memory"].kind == "memory" and exports["memory"].type is None
    # Exported function indices count the imported functions first.
    assert exports["malloc"].type == FuncType(("i32",), ("i32",))
    assert exports["proxy_on_request_headers"].type == FuncType(("i32", "i32", "i32"), ("i32",))
    assert exports["proxy_abi_version_0_2_1"].type == FuncType((), ())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\0asm\x02\0\0\0", "unsupported binary version"),
        (b"\0asm\x01\0\0\0\x01\x05\x01\x60\x01", "runs past the end"),
        (b"\0asm\x01\0\0\0\x01\x04\x01\x61\x00\x00", "is not a function type"),
        (b"\0asm\x01\0\0\0\x01\x04\x01\x60\x01\x42\x00", "unknown value type 0x42"),
        (b"\0asm\x01\0\0\0\x07\x05\x01\x01a\x00\x00", "function index 0 out of range"),
        (b"\0asm\x01\0\0\0\x63\x00", "unknown section id 99"),
        (b"\0asm\x01\0\0\0\x07\x04\x01\x01\xff\x00", "not UTF-8"),
    ],
)
def test_malformed_bytes_say_where(data: bytes, message: str) -> None:
    with pytest.raises(WasmFormatError, match=message):
        read_interface(data)


def test_agrees_with_wasmtime_on_every_fixture(wat: Wat) -> None:
    import wasmtime

    engine = wasmtime.Engine()
    for source in sorted((Path(__file__).parents[2] / "fixtures" / "wat").glob("*.wat")):
        data = wat(source.stem).read_bytes()
        ours = read_interface(data)
        module = wasmtime.Module(engine, data)
        assert [(i.module, i.name) for i in ours.imports] == [
            (i.module, i.name) for i in module.imports
        ]
        for exp, theirs in zip(ours.exports, module.exports, strict=True):
            assert exp.name == theirs.name
            if isinstance(theirs.type, wasmtime.FuncType):
                assert exp.type is not None
                assert exp.type.params == tuple(str(p) for p in theirs.type.params)
                assert exp.type.results == tuple(str(r) for r in theirs.type.results)
