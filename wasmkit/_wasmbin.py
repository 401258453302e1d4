"""Read a WebAssembly binary's interface (imports, exports, signatures) without compiling it.

Compiling a 2.5 MB Go module takes seconds; reading its type, import, function and
export sections takes a millisecond. Only the structure of those sections is checked
here: full validation is the proxy's job (``envoy --mode validate``).
"""

from __future__ import annotations

from dataclasses import dataclass

from wasmkit.errors import WasmFormatError

_VALTYPES = {
    0x7F: "i32",
    0x7E: "i64",
    0x7D: "f32",
    0x7C: "f64",
    0x7B: "v128",
    0x70: "funcref",
    0x6F: "externref",
}
_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}
_TYPE, _IMPORT, _FUNCTION, _EXPORT = 1, 2, 3, 7


@dataclass(frozen=True)
class FuncType:
    params: tuple[str, ...]
    results: tuple[str, ...]


@dataclass(frozen=True)
class RawImport:
    module: str
    name: str
    kind: str
    type: FuncType | None  # for functions


@dataclass(frozen=True)
class RawExport:
    name: str
    kind: str
    type: FuncType | None  # for functions


@dataclass(frozen=True)
class Interface:
    imports: tuple[RawImport, ...]
    exports: tuple[RawExport, ...]


class _Reader:
    def __init__(self, data: bytes, pos: int = 0, end: int | None = None):
        self.data, self.pos = data, pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise WasmFormatError(f"unexpected end at byte {self.pos}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uleb(self) -> int:
        result = shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise WasmFormatError(f"integer too long at byte {self.pos}")

    def bytes(self, n: int) -> bytes:
        if n > self.end - self.pos:
            raise WasmFormatError(f"a length of {n} runs past the end at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def name(self) -> str:
        try:
            return self.bytes(self.uleb()).decode("utf-8")
        except UnicodeDecodeError:
            raise WasmFormatError(f"a name that is not UTF-8 before byte {self.pos}") from None

    def valtype(self) -> str:
        code = self.byte()
        if code not in _VALTYPES:
            raise WasmFormatError(f"unknown value type 0x{code:02x} at byte {self.pos - 1}")
        return _VALTYPES[code]

    def limits(self) -> None:
        flags = self.uleb()
        self.uleb()
        if flags & 1:
            self.uleb()


def _functype(r: _Reader) -> FuncType:
    form = r.byte()
    if form != 0x60:
        raise WasmFormatError(
            f"type entry form 0x{form:02x} is not a function type (byte {r.pos - 1})"
        )
    params = tuple(r.valtype() for _ in range(r.uleb()))
    results = tuple(r.valtype() for _ in range(r.uleb()))
    return FuncType(params, results)


def read_interface(data: bytes) -> Interface:
    """Imports and exports with function signatures; WasmFormatError if malformed."""
    if data[:4] != b"\0asm":
        raise WasmFormatError("no \\0asm header")
    if data[4:8] != b"\x01\0\0\0":
        raise WasmFormatError(f"unsupported binary version {data[4:8].hex()}")
    r = _Reader(data, 8)
    types: list[FuncType] = []
    func_types: list[FuncType] = []  # the function index space: imports first
    imports: list[RawImport] = []
    raw_exports: list[tuple[str, str, int]] = []
    while r.pos < r.end:
        section = r.byte()
        size = r.uleb()
        body = _Reader(data, r.pos, r.pos + size)
        if body.end > len(data):
            raise WasmFormatError(f"section {section} runs past the end of the file")
        r.pos = body.end
        if section == _TYPE:
            types = [_functype(body) for _ in range(body.uleb())]
        elif section == _IMPORT:
            for _ in range(body.uleb()):
                module, name, kind = body.name(), body.name(), body.byte()
                functype = None
                if kind == 0:
                    functype = _indexed(types, body.uleb(), "type")
                    func_types.append(functype)
                elif kind == 1:
                    body.byte()
                    body.limits()
                elif kind == 2:
                    body.limits()
                elif kind == 3:
                    body.valtype()
                    body.byte()
                elif kind == 4:
                    body.byte()
                    body.uleb()
                else:
                    raise WasmFormatError(f"unknown import kind {kind} for {module}.{name}")
                imports.append(RawImport(module, name, _KINDS[kind], functype))
        elif section == _FUNCTION:
            func_types += [_indexed(types, body.uleb(), "type") for _ in range(body.uleb())]
        elif section == _EXPORT:
            for _ in range(body.uleb()):
                name, kind, index = body.name(), body.byte(), body.uleb()
                if kind not in _KINDS:
                    raise WasmFormatError(f"unknown export kind {kind} for {name}")
                raw_exports.append((name, _KINDS[kind], index))
        elif section > 13 and section != 0:
            raise WasmFormatError(f"unknown section id {section}")
    exports = tuple(
        RawExport(name, kind, _indexed(func_types, index, "function") if kind == "func" else None)
        for name, kind, index in raw_exports
    )
    return Interface(tuple(imports), exports)


def _indexed(items: list[FuncType], index: int, what: str) -> FuncType:
    if index >= len(items):
        raise WasmFormatError(f"{what} index {index} out of range ({len(items)} defined)")
    return items[index]
