"""Interop with an independent client: skopeo reads what wasmkit pushes, wasmkit reads what skopeo copies."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.integration.oci.servers import Registry
from wasmkit.errors import ModuleError
from wasmkit.oci import LocalStore, pull, push

pytestmark = pytest.mark.registry


def skopeo(*args: str) -> str:
    done = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("layout", ["compat", "wasme"])
def test_skopeo_inspects_and_copies_what_wasmkit_pushed(
    registry: Registry, store: LocalStore, module: Path, tmp_path: Path, layout: str
) -> None:
    ref = registry.ref(f"filters/add-header:{layout}")
    store.add_module(module, ref, root_ids=["add_header"], abi_versions=["0.2.1"])
    result = push(store, ref, registry.options, layout=layout)  # type: ignore[arg-type]
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{ref}")
    assert hashlib.sha256(raw.encode()).hexdigest() == result.manifest_digest[7:]
    if layout == "compat":  # skopeo reads image configs only of images, not of artifacts
        info = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{ref}"))
        assert info["Digest"] == result.manifest_digest
        assert (info["Architecture"], info["Os"]) == ("wasm", "wasip1")
    # skopeo copies the image out to an OCI layout, verifying every blob on the way
    skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{tmp_path / 'out'}:v1")
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["manifests"][0]["digest"] == result.manifest_digest
    manifest = json.loads(raw)
    wasm_layer = manifest["layers"][-1]["digest"][7:]
    copied = (tmp_path / "out" / "blobs" / "sha256" / wasm_layer).read_bytes()
    if layout == "wasme":
        assert copied == module.read_bytes()
    else:
        with tarfile.open(fileobj=io.BytesIO(copied), mode="r:gz") as tar:
            member = tar.extractfile("plugin.wasm")
            assert member is not None and member.read() == module.read_bytes()


def _oci_layout(directory: Path, plugin: bytes) -> None:
    """An OCI image layout written by hand (not by wasmkit): one tar.gz layer with plugin.wasm."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w") as tar:
        info = tarfile.TarInfo("./plugin.wasm")
        info.size = len(plugin)
        tar.addfile(info, io.BytesIO(plugin))
    layer_raw = tar_bytes.getvalue()
    layer = blob(gzip.compress(layer_raw))
    config = blob(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {
                    "type": "layers",
                    "diff_ids": [f"sha256:{hashlib.sha256(layer_raw).hexdigest()}"],
                },
            }
        ).encode()
    )
    manifest = blob(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}],
            }
        ).encode()
    )
    (directory / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (directory / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        **manifest,
                        "annotations": {"org.opencontainers.image.ref.name": "v1"},
                    }
                ],
            }
        )
    )


@pytest.mark.parametrize("fmt", ["oci", "v2s2"])
def test_wasmkit_pulls_what_skopeo_copied_from_an_oci_layout(
    registry: Registry, store: LocalStore, module: Path, tmp_path: Path, fmt: str
) -> None:
    _oci_layout(tmp_path / "layout", module.read_bytes())
    ref = registry.ref(f"thirdparty/add-header:{fmt}")
    skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--format",
        fmt,
        f"oci:{tmp_path / 'layout'}:v1",
        f"docker://{ref}",
    )
    record = pull(store, ref, registry.options)
    assert record.layout == ("docker" if fmt == "v2s2" else "compat")
    assert store.module_path(ref).read_bytes() == module.read_bytes()
    assert record.module_sha256 == hashlib.sha256(module.read_bytes()).hexdigest()


def test_an_image_whose_plugin_is_not_wasm_is_refused_and_not_stored(
    registry: Registry, store: LocalStore, tmp_path: Path
) -> None:
    _oci_layout(tmp_path / "layout", b"#!/bin/sh\necho not a filter\n")
    ref = registry.ref("thirdparty/script:v1")
    skopeo("copy", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:v1", f"docker://{ref}")
    with pytest.raises(ModuleError) as caught:
        pull(store, ref, registry.options)
    assert "not a WebAssembly module" in caught.value.message
    assert store.images() == []
    assert not any((store.root / "blobs" / "sha256").iterdir())
