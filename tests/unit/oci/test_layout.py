from __future__ import annotations

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from wasmkit.errors import ModuleError, WasmkitError
from wasmkit.oci.inspection import istio_problems
from wasmkit.oci.layout import (
    DOCKER_LAYER_TAR_GZ,
    DOCKER_MANIFEST,
    OCI_LAYER_TAR,
    OCI_LAYER_TAR_GZ,
    WASME_CONFIG,
    WASME_LAYER,
    find_module,
    parse_manifest,
    select_from_index,
    select_platform,
)
from wasmkit.oci.pack import build_image
from wasmkit.oci.unpack import extract_module

WASM = b"\0asm\x01\0\0\0"
D = "sha256:" + "0" * 64


def _module(tmp_path: Path, data: bytes = WASM) -> Path:
    path = tmp_path / "m.wasm"
    path.write_bytes(data)
    return path


def _manifest(layers: list[str], media_type: str = "", config: str = "x") -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            **({"mediaType": media_type} if media_type else {}),
            "config": {"mediaType": config, "digest": D, "size": 1},
            "layers": [{"mediaType": t, "digest": D, "size": 1} for t in layers],
        }
    ).encode()


def test_compat_image_holds_plugin_and_runtime_config(tmp_path: Path) -> None:
    image = build_image(
        _module(tmp_path),
        tmp_path,
        root_ids=["r1"],
        abi_versions=["0.2.1"],
        created="2020-01-01T00:00:00Z",
    )
    manifest = image.manifest
    assert [layer.media_type for layer in manifest.layers] == [OCI_LAYER_TAR_GZ]
    assert manifest.annotations["module.wasm.image/variant"] == "compat"
    layer = image.files[manifest.layers[0].digest].read_bytes()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        assert tar.getnames() == ["plugin.wasm", "runtime-config.json"]
        config = json.loads(tar.extractfile("runtime-config.json").read())  # type: ignore[union-attr]
        assert tar.getmember("plugin.wasm").mtime == 0
    assert config == {
        "type": "envoy_proxy",
        "abiVersions": ["0.2.1"],
        "config": {"rootIds": ["r1"]},
    }
    image_config = json.loads(image.files[manifest.config.digest].read_bytes())
    assert image_config["rootfs"]["diff_ids"][0].startswith("sha256:")
    location = find_module(manifest)
    assert location.in_tar and location.layout == "compat"
    extracted = extract_module(location, image.files[location.layer.digest], tmp_path / "out.wasm")
    assert (tmp_path / "out.wasm").read_bytes() == WASM
    assert json.loads(extracted.runtime_config or b"") == config


def test_same_module_and_time_give_the_same_digest(tmp_path: Path) -> None:
    module = _module(tmp_path)
    digests = set()
    for i in range(2):
        work = tmp_path / str(i)
        work.mkdir()
        image = build_image(
            module, work, root_ids=["r"], abi_versions=["0.2.1"], created="2020-01-01T00:00:00Z"
        )
        digests.add(image.manifest.digest)
    assert len(digests) == 1


def test_wasme_image_layout(tmp_path: Path) -> None:
    image = build_image(
        _module(tmp_path), tmp_path, root_ids=["r"], abi_versions=["0.2.0", "0.2.1"], layout="wasme"
    )
    m = image.manifest
    assert m.config.media_type == WASME_CONFIG
    assert [layer.media_type for layer in m.layers] == [WASME_CONFIG, WASME_LAYER]
    assert m.layers[0].digest == m.config.digest
    assert m.layers[0].annotations["org.opencontainers.image.title"] == "runtime-config.json"
    assert m.annotations["module.wasm.runtime/abi_version"] == "0.2.0,0.2.1"
    assert len(m.blobs) == 2  # the config blob is one blob, listed twice
    location = find_module(m)
    assert not location.in_tar and location.layout == "wasme"
    assert istio_problems(m, WASM, 8) == []


@pytest.mark.parametrize(
    ("layers", "media_type", "layout"),
    [
        ([DOCKER_LAYER_TAR_GZ, DOCKER_LAYER_TAR_GZ], DOCKER_MANIFEST, "docker"),
        ([OCI_LAYER_TAR], "", "compat"),
        (["application/wasm"], "", "wasm-artifact"),
        (["application/vnd.wasm.content.layer.v1+wasm"], "", "wasm-artifact"),
    ],
)
def test_find_module_in_every_layout_read(layers: list[str], media_type: str, layout: str) -> None:
    assert find_module(parse_manifest(_manifest(layers, media_type))).layout == layout


def test_an_image_without_a_module_layer_is_refused() -> None:
    with pytest.raises(ModuleError, match="holds no wasm module"):
        find_module(
            parse_manifest(_manifest(["application/vnd.cncf.helm.chart.content.v1.tar+gzip"]))
        )


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"not json", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (
            b'{"schemaVersion": 2, "layers": [], "annotations": [], "config": '
            b'{"digest": "sha256:' + b"a" * 64 + b'", "size": 1}}',
            "annotations",
        ),
        (b'{"schemaVersion": 1, "layers": []}', "schemaVersion"),
        (b'{"schemaVersion": 2, "manifests": []}', "index"),
        (  # it would go back out as a Content-Type on push
            b'{"schemaVersion": 2, "mediaType": "application/x\\r\\nX-Injected: 1", "layers": []}',
            "is not an image manifest's",
        ),
        (b'{"schemaVersion": 2, "mediaType": 7, "layers": []}', "is not an image manifest's"),
        (b'{"schemaVersion": 2, "config": {"digest": "md5:x", "size": 1}, "layers": []}', "digest"),
    ],
)
def test_bad_manifests(raw: bytes, why: str) -> None:
    # ModuleError, or InvalidDigest for the digest: both input errors (exit 2) with a hint
    with pytest.raises(WasmkitError, match=why) as caught:
        parse_manifest(raw)
    assert caught.value.exit_code == 2 and caught.value.hint


def test_select_from_index_prefers_wasm() -> None:
    entry = {"mediaType": "m", "digest": D, "size": 1}
    other = {
        **entry,
        "digest": "sha256:" + "1" * 64,
        "platform": {"architecture": "amd64", "os": "linux"},
    }
    wasm = {**entry, "platform": {"architecture": "wasm", "os": "wasip1"}}
    assert select_from_index(json.dumps({"manifests": [other, wasm]}).encode()).digest == D
    assert select_from_index(json.dumps({"manifests": [other]}).encode()).digest == other["digest"]
    with pytest.raises(ModuleError, match="several platforms"):
        select_from_index(json.dumps({"manifests": [other, other]}).encode())


def test_select_platform_takes_that_platform_only() -> None:
    entry = {"mediaType": "m", "size": 1}
    arm = {
        **entry,
        "digest": "sha256:" + "1" * 64,
        "platform": {"architecture": "arm64", "os": "linux"},
    }
    amd = {**entry, "digest": D, "platform": {"architecture": "amd64", "os": "linux"}}
    attestation = {
        **entry,
        "digest": "sha256:" + "2" * 64,
        "platform": {"architecture": "unknown", "os": "unknown"},
    }
    raw = json.dumps({"manifests": [attestation, arm, {"digest": "x"}, amd]}).encode()
    assert select_platform(raw, "linux", "amd64").digest == D
    with pytest.raises(
        ModuleError, match=r"no linux/s390x image \(it lists: unknown/unknown, linux/arm64"
    ) as caught:
        select_platform(raw, "linux", "s390x")
    assert caught.value.hint


def test_extract_refuses_a_plugin_that_is_not_wasm(tmp_path: Path) -> None:
    image = build_image(_module(tmp_path, b"#!/bin/sh\n"), tmp_path, root_ids=[], abi_versions=[])
    location = find_module(image.manifest)
    with pytest.raises(ModuleError, match="not a WebAssembly module"):
        extract_module(location, image.files[location.layer.digest], tmp_path / "out.wasm")


def test_extract_refuses_a_tar_without_plugin(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        info = tarfile.TarInfo("etc/passwd")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    layer = tmp_path / "layer"
    layer.write_bytes(raw.getvalue())
    location = find_module(parse_manifest(_manifest([OCI_LAYER_TAR_GZ])))
    with pytest.raises(ModuleError, match=r"holds no plugin\.wasm"):
        extract_module(location, layer, tmp_path / "out.wasm")
    layer.write_bytes(b"garbage that is no tar")
    with pytest.raises(ModuleError, match="not a readable tar"):
        extract_module(location, layer, tmp_path / "out.wasm")


@pytest.mark.parametrize(
    ("layers", "config", "head", "size", "problem"),
    [
        ([OCI_LAYER_TAR_GZ], "x", WASM, 10, None),
        ([DOCKER_LAYER_TAR_GZ], "x", WASM, 10, None),
        (["application/wasm"], "x", WASM, 10, "not a tar layer"),
        ([OCI_LAYER_TAR], "x", WASM, 10, "uncompressed"),
        ([WASME_LAYER], WASME_CONFIG, WASM, 10, "exactly 2 layers"),
        ([OCI_LAYER_TAR_GZ], "x", b"\x7fELF", 10, "\\0asm"),
        ([OCI_LAYER_TAR_GZ], "x", WASM, 257 * 1024 * 1024, "256 MiB"),
    ],
)
def test_istio_rules(
    layers: list[str], config: str, head: bytes, size: int, problem: str | None
) -> None:
    problems = istio_problems(parse_manifest(_manifest(layers, config=config)), head, size)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems
