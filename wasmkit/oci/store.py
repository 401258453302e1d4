"""The local image store under ``~/.wasmkit`` (``$WASMKIT_HOME`` overrides).

::

    store/blobs/sha256/<hex>      every blob: manifests, configs, layers (content addressed)
    store/modules/<hex>.wasm      each image's module, by its own sha256 (for tests and deploy)
    store/images/<hex>.json       a record per manifest digest: module sha256, size, ABI, root ids
    store/index.json              reference -> manifest digest ("name:tag" or "name@sha256:...")
    store/tmp/<pid>-<random>/     staging; nothing there is ever mistaken for a complete file
    store/lock                    flock(2) held while the index, records or blobs change

Every file appears by ``os.replace`` of a complete temporary file, and the index changes only
under the lock, so two wasmkit processes can write at once and a killed pull leaves the store as
it was (its staging directory is swept by the next writer). Index and records are read and
written by :mod:`wasmkit.oci.records`, bounded and with every digest validated.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from wasmkit._atomic import copy_atomic, write_atomic
from wasmkit.abi import AbiVersion
from wasmkit.errors import (
    ModuleError,
    UnknownImage,
    UntrustedInput,
    UsageError,
)
from wasmkit.oci._digest import Digest
from wasmkit.oci._fs import check_module_file, pid_alive
from wasmkit.oci.layout import Format, Manifest, find_module, parse_manifest, parse_runtime_config
from wasmkit.oci.records import (
    MAX_RECORD_BYTES,
    ImageRecord,
    damaged,
    load_store_file,
    read_index,
    read_record,
    write_index,
)
from wasmkit.oci.reference import Reference, parse
from wasmkit.oci.unpack import Extracted, extract_module

log = logging.getLogger(__name__)


def default_home() -> Path:
    env = os.environ.get("WASMKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".wasmkit"


def _check_abis(abi_versions: Sequence[str]) -> list[str]:
    known = {v.value for v in AbiVersion}
    bad = [a for a in abi_versions if a not in known]
    if bad:
        raise UsageError(
            f"unknown ABI version(s): {', '.join(bad)}",
            hint=f"use one of {', '.join(sorted(known))}",
        )
    return list(abi_versions)


class LocalStore:
    """Images by digest, references as an index; see the module docstring for the layout."""

    def __init__(self, home: Path | None = None):
        self.home = home or default_home()
        self.root = self.home / "store"

    # -- paths ---------------------------------------------------------------------------------

    # Paths are built from validated digests only (Digest checks on construction).

    def blob_path(self, digest: Digest) -> Path:
        return self.root / "blobs" / "sha256" / digest.hex

    def _module_file(self, sha256: str) -> Path:
        return self.root / "modules" / f"{Digest.of_hex(sha256, 'a module sha256').hex}.wasm"

    def _record_file(self, digest: Digest) -> Path:
        return self.root / "images" / f"{digest.hex}.json"

    def _ensure(self) -> None:
        for sub in ("blobs/sha256", "modules", "images", "tmp"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure()
        with (self.root / "lock").open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        """A private directory inside the store (same file system, so renames are atomic)."""
        self._ensure()
        self._sweep()
        path = Path(tempfile.mkdtemp(dir=self.root / "tmp", prefix=f"{os.getpid()}-"))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)

    def _sweep(self) -> None:
        """Remove staging directories of processes that died (a killed pull)."""
        for entry in (self.root / "tmp").iterdir():
            pid = entry.name.split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid)):
                log.debug("removing stale staging directory %s", entry)
                shutil.rmtree(entry, ignore_errors=True)

    # -- index ---------------------------------------------------------------------------------

    def _read_index(self) -> dict[str, Digest]:
        return read_index(self.root / "index.json")

    def _write_index(self, refs: Mapping[str, Digest]) -> None:
        write_index(self.root / "index.json", refs)

    def _read_record(self, ref: str, digest: Digest) -> ImageRecord:
        return read_record(self._record_file(digest), ref)

    @staticmethod
    def key(ref: str | Reference) -> str:
        reference = ref if isinstance(ref, Reference) else parse(ref)
        return str(reference)

    # -- reading -------------------------------------------------------------------------------

    def images(self) -> list[ImageRecord]:
        records = []
        for ref, digest in sorted(self._read_index().items()):
            with contextlib.suppress(UnknownImage):
                records.append(self._read_record(ref, digest))
        return records

    def resolve(self, ref: str | Reference) -> ImageRecord:
        reference = ref if isinstance(ref, Reference) else parse(ref)
        index = self._read_index()
        key = str(reference)
        if key in index:
            return self._read_record(key, index[key])
        if reference.digest and self._record_file(reference.digest).is_file():
            return self._read_record(key, reference.digest)
        raise UnknownImage(key)

    def module_path(self, ref: str | Reference) -> Path:
        """The stored .wasm of an image (for ``wasmkit test`` and deploy).

        A pulled image whose module sits in a tar layer is unpacked here, on first use, so that
        a pull writes each byte once; the file appears complete (rename) and is verified.
        """
        record = self.resolve(ref)
        target = self._module_file(record.module_sha256)
        if target.is_file():
            return target
        manifest = self.manifest(record)
        location = find_module(manifest)
        with self.staging() as work:
            extracted = extract_module(location, self.blob_path(location.layer.digest), work / "m")
            if extracted.sha256 != record.module_sha256:
                raise ModuleError(
                    f"the stored layer of {record.ref} does not hold module {record.module_sha256}",
                    hint=f"the store was changed by hand; `wasmkit rm {record.ref}` and pull again",
                )
            with self._locked():
                if not target.is_file():
                    os.replace(work / "m", target)
        return target

    def manifest(self, record: ImageRecord) -> Manifest:
        path = self.blob_path(record.manifest_digest)
        try:
            return parse_manifest(path.read_bytes())
        except FileNotFoundError:
            raise UntrustedInput(
                f"the manifest of {record.ref} is missing from the store",
                hint=f"remove the image (`wasmkit rm {record.ref}`) and pull or build it again",
            ) from None

    def hold_blob(self, digest: Digest, work: Path) -> Path | None:
        """A hard link in the staging directory ``work`` to a stored blob, or None if it is not
        stored. A pull holds the blobs it reuses so: an `rm` that deletes them before the pull
        commits cannot leave the pulled image without them (commit puts them back)."""
        held = work / digest.hex
        try:
            os.link(self.blob_path(digest), held)
        except FileNotFoundError:
            return None
        return held

    def has_blob(self, digest: Digest) -> bool:
        return self.blob_path(digest).is_file()

    # -- writing -------------------------------------------------------------------------------

    def add_module(
        self,
        module: Path,
        ref: str,
        *,
        root_ids: list[str],
        abi_versions: list[str],
        layout: Format = "compat",
    ) -> ImageRecord:
        """Pack ``module`` as an image (``layout``), store it and point ``ref`` at it."""
        reference = parse(ref)
        if reference.digest:
            raise UsageError(f"cannot tag a new image with a digest ({ref})", hint="give NAME:TAG")
        check_module_file(module)
        abis = _check_abis(abi_versions)
        with self.staging() as work:
            from wasmkit.oci.pack import build_image  # tarfile and gzip: only to pack

            image = build_image(module, work, root_ids=root_ids, abi_versions=abis, layout=layout)
            location = find_module(image.manifest)
            layer = image.files[location.layer.digest]
            extracted = extract_module(location, layer, work / "module.wasm")
            created = image.manifest.annotations.get("org.opencontainers.image.created", "")
            return self.commit(
                reference,
                image.manifest,
                image.files,
                work / "module.wasm",
                extracted,
                layout=layout,
                created=created,
            )

    def commit(
        self,
        reference: Reference,
        manifest: Manifest,
        files: Mapping[Digest, Path],
        module_file: Path | None,
        extracted: Extracted,
        *,
        layout: str,
        created: str,
        source: str | None = None,
    ) -> ImageRecord:
        """Move verified blobs into place and point ``reference`` at the manifest, atomically.

        ``files`` are staged blobs (moved or copied); ``module_file`` is the extracted module
        (None: unpacked on first ``module_path``).
        """
        roots, abis = parse_runtime_config(extracted.runtime_config or b"")
        config_file = files.get(manifest.config.digest) or self.blob_path(manifest.config.digest)
        if config_file.is_file() and manifest.config.size <= 64 * 1024 and not (roots or abis):
            roots, abis = parse_runtime_config(config_file.read_bytes())
        key = str(reference)
        with self._locked():
            for digest, path in files.items():
                target = self.blob_path(digest)
                if target.is_file():
                    continue
                if path.parent.parent == self.root / "tmp":
                    os.replace(path, target)
                else:  # a caller's file (the module itself for the wasme layout): copy
                    copy_atomic(path, target)
            write_atomic(self.blob_path(manifest.digest), manifest.raw)
            target = self._module_file(extracted.sha256)
            if module_file is not None and not target.is_file():
                os.replace(module_file, target)
            record_file = self._record_file(manifest.digest)
            sources: list[str] = []
            if record_file.is_file():
                old = self._read_record(key, manifest.digest)
                sources = list(old.sources)
                created = old.created or created
            if source and source not in sources:
                sources.append(source)
            record = ImageRecord(
                ref=key,
                manifest_digest=manifest.digest,
                module_sha256=extracted.sha256,
                size=extracted.size,
                layout=layout,
                abi_versions=tuple(abis),
                root_ids=tuple(roots),
                created=created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                sources=tuple(sources),
            )
            write_atomic(record_file, json.dumps(record.to_json(), indent=2).encode())
            index = self._read_index()
            previous = index.get(key)
            index[key] = manifest.digest
            self._write_index(index)
            if previous and previous != manifest.digest:
                self._collect(index)
        log.info("stored %s as %s", key, manifest.digest)
        return record

    def add_source(self, digest: Digest, source: str) -> None:
        """Remember that ``source`` (registry/repository) holds this image's blobs (for mounts)."""
        with self._locked():
            path = self._record_file(digest)
            if not path.is_file():
                return
            data = load_store_file(path, MAX_RECORD_BYTES)
            if not isinstance(data, dict):
                raise damaged(path)
            sources = list(data.get("sources", []))
            if source not in sources:
                sources.append(source)
                data["sources"] = sources
                write_atomic(path, json.dumps(data, indent=2).encode())

    def tag(self, source: str, target: str) -> ImageRecord:
        reference = parse(target)
        if reference.digest:
            raise UsageError(f"cannot tag with a digest ({target})", hint="give NAME:TAG")
        key = str(reference)
        with self._locked():
            # looked up under the lock: an `rm` of the source cannot slip in before the write
            record = self.resolve(source)
            index = self._read_index()
            previous = index.get(key)
            index[key] = record.manifest_digest
            self._write_index(index)
            if previous and previous != record.manifest_digest:
                self._collect(index)
        return self._read_record(key, record.manifest_digest)

    def remove(self, ref: str) -> str:
        """Drop a reference (even one whose record is gone); blobs no other reference uses are
        deleted. Returns the reference as stored."""
        key = str(parse(ref))
        with self._locked():
            index = self._read_index()
            if key not in index:
                raise UnknownImage(key)
            del index[key]
            self._write_index(index)
            self._collect(index)
        return key

    def _collect(self, index: Mapping[str, str]) -> None:
        """Delete records, blobs and modules that no reference reaches (lock held)."""
        live_digests = set(index.values())
        keep_blobs: set[str] = set()
        keep_modules: set[str] = set()
        for record_file in (self.root / "images").glob("*.json"):
            if not Digest.is_valid("sha256:" + record_file.stem):
                continue  # not a file of ours
            digest = Digest("sha256:" + record_file.stem)
            if digest not in live_digests:
                record_file.unlink(missing_ok=True)
                continue
            keep_blobs.add(digest.hex)
            with contextlib.suppress(UsageError, OSError, ValueError, KeyError, TypeError):
                record = read_record(record_file, "")
                keep_modules.add(record.module_sha256)
                manifest = parse_manifest(self.blob_path(digest).read_bytes())
                keep_blobs.update(d.digest.hex for d in manifest.blobs)
        for blob in (self.root / "blobs" / "sha256").iterdir():
            if blob.name not in keep_blobs:
                blob.unlink(missing_ok=True)
        for module in (self.root / "modules").glob("*.wasm"):
            if module.stem not in keep_modules:
                module.unlink(missing_ok=True)
