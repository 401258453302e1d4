"""Named files out of a container image's layers (Istio's binaries from its published images).

The manifest (Docker schema 2 or OCI; an index resolved to one platform) and each layer blob
are fetched with the registry client, which verifies every digest; a layer is downloaded to a
staging file, verified, then read once as a stream. Only the files asked for are copied, to
staging files whose names wasmkit chose: a member's name is compared with the wanted names and
never becomes a path. Layers apply in order, as a container runtime stacks them: the last layer
that holds a file wins, and a whiteout (``.wh.NAME``, or ``.wh..wh..opq`` for its directory) in a
later layer removes it. The caller gets the staged files once every layer was read; nothing is
left behind on failure.
"""

from __future__ import annotations

import logging
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, cast

from wasmkit.errors import LimitExceeded, UsageError
from wasmkit.oci._digest import CHUNK, Digest
from wasmkit.oci.layout import TAR_LAYERS, Descriptor
from wasmkit.oci.reference import parse
from wasmkit.oci.store import LocalStore
from wasmkit.oci.transfer import RegistryOptions, fetch_manifest, open_client
from wasmkit.oci.unpack import Inflated, open_layer

log = logging.getLogger(__name__)

#: A layer wasmkit downloads to read files from (Istio's are 20-60 MiB), and what it may inflate to.
MAX_LAYER = 1024 * 1024 * 1024
MAX_LAYER_INFLATED = 4 * MAX_LAYER
#: A file taken out of a layer (pilot-discovery is ~90 MiB).
MAX_FILE = 512 * 1024 * 1024
#: Members of one layer's tar (a distro base layer has a few thousand).
MAX_LAYER_MEMBERS = 200_000
OPAQUE = ".wh..wh..opq"
WHITEOUT = ".wh."


@dataclass(frozen=True)
class Limits:
    layer: int = MAX_LAYER
    inflated: int = MAX_LAYER_INFLATED
    file: int = MAX_FILE
    members: int = MAX_LAYER_MEMBERS


@dataclass(frozen=True)
class ImageFiles:
    """What :func:`image_files` found: staged file per wanted name, and the manifest's digest."""

    manifest_digest: Digest
    files: Mapping[str, Path]


def _member_name(name: str) -> str:
    return name.removeprefix("./").lstrip("/")


def _removes(name: str, wanted: str) -> bool:
    """True when the whiteout member ``name`` removes ``wanted`` from the layers below."""
    directory, _, base = name.rpartition("/")
    if base == OPAQUE:
        return wanted.startswith(directory + "/") if directory else True
    if base.startswith(WHITEOUT):
        gone = (directory + "/" if directory else "") + base[len(WHITEOUT) :]
        return wanted == gone or wanted.startswith(gone + "/")
    return False


def _copy(source: IO[bytes], dest: Path, limit: int, what: str) -> None:
    size = 0
    with dest.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise _too_big(what, limit)
            out.write(chunk)


def _too_big(what: str, limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"{what} is larger than {limit // (1024 * 1024)} MiB",
        hint="this is not the image expected; check the reference",
    )


def apply_layer(
    stream: BinaryIO,
    wanted: Mapping[str, Path],
    found: dict[str, Path],
    where: str,
    limits: Limits = Limits(),
) -> None:
    """Apply one layer blob (tar or tar.gz) to ``found``: each wanted file it holds is copied to
    its ``wanted`` path (replacing a lower layer's), each one it whites out is dropped."""
    in_layer: set[str] = set()
    removed: set[str] = set()

    def inflated_too_much() -> Exception:
        return _too_big(f"{where} inflated", limits.inflated)

    try:
        layer = Inflated(open_layer(stream), limits.inflated, inflated_too_much)
        with tarfile.open(fileobj=cast(BinaryIO, layer), mode="r|") as tar:
            for count, member in enumerate(tar, 1):
                if count > limits.members:
                    raise LimitExceeded(
                        f"{where} has more than {limits.members} tar members",
                        hint="this is not the image expected; check the reference",
                    )
                tar.members = []  # type: ignore[attr-defined]  # a stream is read once: do not keep every member read
                name = _member_name(member.name)
                removed.update(w for w in wanted if _removes(name, w))
                if name not in wanted:
                    continue
                in_layer.add(name)
                found.pop(name, None)
                if not member.isfile():
                    log.info("%s: %s is a %s, not a file", where, name, member.type)
                    continue  # a link or a directory here hides the file of lower layers
                if member.size > limits.file:
                    raise _too_big(f"{name} in {where}", limits.file)
                source = tar.extractfile(member)
                assert source is not None
                _copy(source, wanted[name], limits.file, f"{name} in {where}")
                found[name] = wanted[name]
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise UsageError(
            f"{where} is not a readable tar archive: {exc}",
            hint="the image is damaged or is not a container image",
        ) from None
    for name in removed - in_layer:  # a whiteout removes what lower layers had
        found.pop(name, None)


@contextmanager
def image_files(
    ref: str,
    names: list[str],
    options: RegistryOptions,
    *,
    platform: tuple[str, str] = ("linux", "amd64"),
    staging: Path | None = None,
    limits: Limits = Limits(),
    on_layer: Callable[[Descriptor], None] | None = None,
    store: LocalStore | None = None,
) -> Iterator[ImageFiles]:
    """Fetch ``ref``'s ``names`` (paths inside the image, e.g. ``usr/local/bin/pilot-agent``)
    into a temporary directory (under ``staging``) that lives as long as the ``with`` block.

    UsageError (exit 2) when a name is in no layer; IntegrityError (exit 3) when a blob does
    not match its digest; LimitExceeded (exit 2) for a layer or a file over ``limits``.
    """
    reference = parse(ref)
    wanted_names = [_member_name(n) for n in names]
    client = open_client(reference.registry, store or LocalStore(), options)
    try:
        with tempfile.TemporaryDirectory(prefix="wasmkit-image-", dir=staging) as tmp:
            work = Path(tmp)
            manifest = fetch_manifest(client, reference, platform)
            found: dict[str, Path] = {}
            for index, layer in enumerate(manifest.layers):
                where = f"layer {index} of {reference}"
                if layer.media_type not in TAR_LAYERS:
                    raise UsageError(
                        f"{where} is a {layer.media_type or 'untyped'} layer, not a tar",
                        hint="this is not a container image wasmkit can read files from",
                    )
                if layer.size > limits.layer:
                    raise _too_big(f"{where} ({layer.size} bytes)", limits.layer)
                if on_layer:
                    on_layer(layer)
                blob = work / f"layer-{index}"
                client.download_blob(reference.repository, layer, blob)  # verifies the digest
                # file names: fixed by wasmkit, one per wanted name and layer (never a member name)
                targets = {w: work / f"file-{index}-{i}" for i, w in enumerate(wanted_names)}
                staged = dict(found)
                with blob.open("rb") as stream:
                    apply_layer(stream, targets, staged, where, limits)
                for name, path in found.items():
                    if staged.get(name) != path:
                        path.unlink(missing_ok=True)
                found = staged
                blob.unlink()
            missing = [n for n in wanted_names if n not in found]
            if missing:
                raise UsageError(
                    f"{reference} holds no {', '.join(missing)} (looked through "
                    f"{len(manifest.layers)} layers)",
                    hint="check the image reference and its tag: the file is not in that image",
                )
            yield ImageFiles(manifest.digest, {n: found[n] for n in wanted_names})
    finally:
        client.close()
