"""Two wasmkit processes writing one store at once lose nothing and never leave a torn file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from wasmkit.oci import LocalStore

WRITER = """
import sys
from pathlib import Path
from wasmkit.oci import LocalStore

home, who = Path(sys.argv[1]), sys.argv[2]
store = LocalStore(home)
for i in range(15):
    module = home.parent / f"{who}-{i}.wasm"
    module.write_bytes(b"\\0asm\\x01\\0\\0\\0\\0\\x03\\x01" + bytes([65 + i]) + who.encode()[:1])
    store.add_module(module, f"x/{who}:v{i}", root_ids=[who], abi_versions=["0.2.1"])
    store.tag(f"x/{who}:v{i}", f"x/shared:{who}-{i}")
    if i % 3 == 0:
        store.remove(f"x/shared:{who}-{i}")
"""


def test_concurrent_processes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(home), who], stderr=subprocess.PIPE)
        for who in ("a", "b")
    ]
    for w in writers:
        _, err = w.communicate(timeout=120)
        assert w.returncode == 0, err.decode()
    store = LocalStore(home)
    refs = {r.ref for r in store.images()}
    assert len(refs) == 2 * 15 + 2 * 10
    for who in ("a", "b"):
        for i in range(15):
            assert store.module_path(f"x/{who}:v{i}").read_bytes()[:4] == b"\0asm"
    json.loads((store.root / "index.json").read_text())
    assert not [p for p in store.root.rglob("*") if p.name.endswith(".tmp")]
