"""`wasmkit istio install --from-image` against a real registry (Debian's docker-registry).

The images are built here: layers whose tars hold stand-ins for Istio's binaries (shell scripts
that answer `version -s`), pushed with the distribution API, then installed through wasmkit's
OCI client: the right file of the right layer lands in the release directory, executable.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.oci.conftest import Result, registry_flags
from tests.integration.oci.servers import Registry
from wasmkit.errors import LimitExceeded
from wasmkit.oci.image_files import Limits, image_files

VERSION = "1.29.1"
DISCOVERY = "usr/local/bin/pilot-discovery"
AGENT = "usr/local/bin/pilot-agent"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def script(says: str) -> bytes:
    return f'#!/bin/sh\n[ "$1 $2" = "version -s" ] && echo {says}\n'.encode()


def tar_layer(*members: tuple[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, content in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o755
            tar.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def put_blob(registry: Registry, repository: str, data: bytes) -> dict[str, Any]:
    base = f"http://{registry.host}"
    start = requests.post(f"{base}/v2/{repository}/blobs/uploads/", timeout=10)
    assert start.status_code == 202, start.text
    location = start.headers["Location"]
    url = location if location.startswith("http") else base + location
    done = requests.put(
        url, params={"digest": digest(data)}, data=data, timeout=10,
        headers={"Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert done.status_code == 201, done.text
    return {"digest": digest(data), "size": len(data)}


def put_manifest(registry: Registry, repository: str, tag: str, doc: dict[str, Any]) -> str:
    raw = json.dumps(doc).encode()
    answer = requests.put(
        f"http://{registry.host}/v2/{repository}/manifests/{tag}", data=raw, timeout=10,
        headers={"Content-Type": doc["mediaType"]},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return digest(raw)


def push_image(
    registry: Registry, repository: str, tag: str, layers: list[bytes], *, docker: bool = False
) -> dict[str, Any]:
    """An image of ``layers``; returns its manifest descriptor (for an index)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {}}).encode()
    kind = "docker.distribution.manifest.v2" if docker else "oci.image.manifest.v1"
    doc = {
        "schemaVersion": 2,
        "mediaType": f"application/vnd.{kind}+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json"
            if docker
            else "application/vnd.oci.image.config.v1+json",
            **put_blob(registry, repository, config),
        },
        "layers": [
            {
                "mediaType": DOCKER_LAYER if docker else OCI_LAYER,
                **put_blob(registry, repository, b),
            }
            for b in layers
        ],
    }
    manifest_digest = put_manifest(registry, repository, tag, doc)
    return {"mediaType": doc["mediaType"], "digest": manifest_digest,
            "size": len(json.dumps(doc).encode())}  # fmt: skip


def push_pilot(registry: Registry, tag: str = VERSION) -> str:
    """An index: arm64 first (a different binary), then linux/amd64 of three layers: an old
    pilot-discovery, a whiteout of it, the right one; the last layer also has unrelated files."""
    repo = "istio/pilot"
    arm = push_image(registry, repo, "arm", [tar_layer((DISCOVERY, script("arm64")))])
    amd = push_image(
        registry,
        repo,
        "amd",
        [
            tar_layer(("etc/os-release", b"distroless\n"), (DISCOVERY, script("0.0.1"))),
            tar_layer(("usr/local/bin/.wh.pilot-discovery", b"")),
            tar_layer((f"./{DISCOVERY}", script(VERSION)), ("var/lib/istio/x", b"y")),
        ],
    )
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {**arm, "platform": {"os": "linux", "architecture": "arm64"}},
            {**amd, "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }
    put_manifest(registry, repo, tag, index)
    return registry.ref(f"{repo}:{tag}")


def push_proxy(registry: Registry) -> str:
    """Docker schema 2, the agent in the first layer, a later layer with other files."""
    push_image(
        registry,
        "istio/proxyv2",
        VERSION,
        [tar_layer((AGENT, script(VERSION))), tar_layer(("usr/local/bin/envoy", b"\x7fELF"))],
        docker=True,
    )
    return registry.ref(f"istio/proxyv2:{VERSION}")


def install(wasmkit: Callable[..., Result], registry: Registry, target: Path, *refs: str) -> Result:
    flags = [f"--{kind}-image={ref}" for kind, ref in zip(("pilot", "proxy"), refs, strict=False)]
    return wasmkit(
        "istio", "install", VERSION, "--from-image", "--dir", str(target), *flags,
        *registry_flags(registry),
    )  # fmt: skip


def test_installs_the_right_binaries_from_the_images(
    registry: Registry, wasmkit: Callable[..., Result], tmp_path: Path
) -> None:
    pilot, proxy = push_pilot(registry), push_proxy(registry)
    target = tmp_path / "istio" / VERSION
    result = install(wasmkit, registry, target, pilot, proxy)
    assert result.code == 0, result.out + result.err
    assert f"Istio {VERSION} ready in {target}" in result.out
    assert f"from {pilot}@sha256:" in result.out and f"from {proxy}@sha256:" in result.out
    assert (target / "pilot-discovery").read_bytes() == script(VERSION)
    assert (target / "pilot-agent").read_bytes() == script(VERSION)
    assert all((target / n).stat().st_mode & 0o111 for n in ("pilot-discovery", "pilot-agent"))
    # only the two binaries: no layer, no other member, no staging left behind
    assert sorted(p.name for p in target.iterdir()) == ["pilot-agent", "pilot-discovery"]
    # installed is installed: the registry is not asked again
    again = install(wasmkit, registry, target, "127.0.0.1:1/nothing:here")
    assert again.code == 0 and "from cached" in again.out, again.out + again.err


def test_a_whited_out_binary_is_a_clear_error(
    registry: Registry, wasmkit: Callable[..., Result], tmp_path: Path
) -> None:
    push_image(
        registry, "istio/gone", VERSION,
        [tar_layer((DISCOVERY, script(VERSION))), tar_layer(("usr/local/.wh.bin", b""))],
    )  # fmt: skip
    result = install(wasmkit, registry, tmp_path / "t", registry.ref(f"istio/gone:{VERSION}"))
    assert result.code == 2
    assert f"holds no {DISCOVERY}" in result.err and "hint" in result.err.lower()
    assert not (tmp_path / "t" / "pilot-discovery").exists()


def test_the_wrong_release_is_refused(
    registry: Registry, wasmkit: Callable[..., Result], tmp_path: Path
) -> None:
    push_image(registry, "istio/old", VERSION, [tar_layer((DISCOVERY, script("1.28.3")))])
    result = install(wasmkit, registry, tmp_path / "t", registry.ref(f"istio/old:{VERSION}"))
    assert result.code == 2 and "is Istio 1.28.3, not 1.29.1" in result.err
    assert not (tmp_path / "t" / "pilot-discovery").exists()


def test_a_layer_that_does_not_match_its_digest_is_refused(
    registry: Registry, wasmkit: Callable[..., Result], tmp_path: Path
) -> None:
    pilot = push_pilot(registry)
    # the registry's storage is altered behind its back: it serves other bytes for a digest
    blobs = list((registry.directory).rglob("blobs/sha256/*/*/data"))
    layer = tar_layer((f"./{DISCOVERY}", script(VERSION)), ("var/lib/istio/x", b"y"))
    (data,) = [b for b in blobs if b.parent.name == hashlib.sha256(layer).hexdigest()]
    data.write_bytes(tar_layer((DISCOVERY, script("evil")), ("var/lib/istio/x", b"y")))
    result = install(wasmkit, registry, tmp_path / "t", pilot)
    assert result.code == 3, result.out + result.err
    assert "does not match its digest" in result.err
    assert not (tmp_path / "t" / "pilot-discovery").exists()


def test_an_oversized_layer_is_refused_before_download(
    registry: Registry, tmp_path: Path, home: Path
) -> None:
    pilot = push_pilot(registry)
    limits = Limits(layer=64)
    with (
        pytest.raises(LimitExceeded, match="is larger than") as caught,
        image_files(pilot, [DISCOVERY], registry.options, limits=limits),
    ):
        pass
    assert caught.value.exit_code == 2 and caught.value.hint


def test_an_unreachable_registry_with_from_image_is_exit_3(
    wasmkit: Callable[..., Result], tmp_path: Path, registry: Registry
) -> None:
    result = wasmkit(
        "istio", "install", VERSION, "--from-image", "--dir", str(tmp_path / "t"),
        "--pilot-image", "127.0.0.1:1/istio/pilot:x", "--plain-http", "--timeout", "2",
    )  # fmt: skip
    assert result.code == 3 and "cannot reach the registry" in result.err


def test_hostile_member_names_write_nothing_outside(
    registry: Registry, wasmkit: Callable[..., Result], tmp_path: Path
) -> None:
    work = tmp_path / "deep" / "work"
    work.mkdir(parents=True)
    escape = tmp_path / "deep" / "escaped"
    members = [
        ("../escaped", b"evil"),
        ("../../escaped", b"evil"),
        (str(escape), b"evil"),
        (f"../{DISCOVERY}", script("evil")),
        (DISCOVERY, script(VERSION)),
    ]
    push_image(registry, "istio/hostile", VERSION, [tar_layer(*members)])
    target = work / "istio"
    hostile = registry.ref(f"istio/hostile:{VERSION}")
    result = install(wasmkit, registry, target, hostile, push_proxy(registry))
    assert result.code == 0, result.out + result.err
    assert (target / "pilot-discovery").read_bytes() == script(VERSION)
    assert not escape.exists() and not (tmp_path / "escaped").exists()
    deep = tmp_path / "deep"
    files = sorted(p.relative_to(deep).as_posix() for p in deep.rglob("*") if not p.is_dir())
    assert files == ["work/istio/pilot-agent", "work/istio/pilot-discovery"]
