"""Push, pull and login: the store and the registry client put together.

``push`` sends a stored image (blobs the registry has are skipped, blobs another repository of
the same registry holds are mounted); ``pull`` fetches an image into a staging directory,
verifies every digest and the module, then commits it to the store in one step.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from wasmkit.errors import ModuleError, UsageError
from wasmkit.oci._digest import MAX_MODULE_BYTES, Digest, sha256_digest
from wasmkit.oci.credentials import Credential, CredentialStore
from wasmkit.oci.layout import (
    INDEX_TYPES,
    Format,
    Manifest,
    find_module,
    parse_manifest,
    select_from_index,
    select_platform,
    used_blobs,
)
from wasmkit.oci.progress import Progress
from wasmkit.oci.records import ImageRecord
from wasmkit.oci.reference import Reference, parse
from wasmkit.oci.registry import RegistryClient
from wasmkit.oci.store import LocalStore
from wasmkit.oci.unpack import LayerScanner, extract_module

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryOptions:
    plain_http: bool = False
    ca_file: Path | None = None
    insecure: bool = False
    timeout: float = 30.0


@dataclass(frozen=True)
class PushResult:
    ref: str
    manifest_digest: Digest
    module_sha256: str
    uploaded: tuple[str, ...] = field(default=())
    skipped: tuple[str, ...] = field(default=())
    mounted: tuple[str, ...] = field(default=())


def open_client(
    registry: str,
    store: LocalStore,
    options: RegistryOptions,
    progress: Progress | None = None,
    credential: Credential | None = None,
) -> RegistryClient:
    credentials = CredentialStore(store.home)
    return RegistryClient(
        registry,
        credential=(lambda: credential) if credential else (lambda: credentials.get(registry)),
        plain_http=options.plain_http,
        ca_file=options.ca_file,
        insecure=options.insecure,
        timeout=options.timeout,
        progress=progress,
    )


def _repack(store: LocalStore, record: ImageRecord, layout: Format) -> ImageRecord:
    module = store.module_path(record.ref)
    return store.add_module(
        module,
        record.ref,
        root_ids=list(record.root_ids),
        abi_versions=list(record.abi_versions),
        layout=layout,
    )


def push(
    store: LocalStore,
    ref: str,
    options: RegistryOptions,
    *,
    layout: Format | None = None,
    progress: Progress | None = None,
) -> PushResult:
    """Push the stored image ``ref`` to the registry its name says."""
    reference = parse(ref)
    if reference.digest:
        raise UsageError(
            f"push a tag, not a digest ({ref})", hint="tag it first: wasmkit tag SRC NAME:TAG"
        )
    record = store.resolve(reference)
    # a pulled image may lack layers wasmkit does not use; an explicit --format re-packs it
    partial = any(not store.has_blob(b.digest) for b in store.manifest(record).blobs)
    if layout and (layout != record.layout or partial):
        record = _repack(store, record, layout)
    manifest = store.manifest(record)
    repository = reference.repository
    uploaded, skipped, mounted = [], [], []
    client = open_client(reference.registry, store, options, progress)
    try:
        sources = [
            s.split("/", 1)[1]
            for s in record.sources
            if s.startswith(reference.registry + "/") and s != reference.name
        ]
        for blob in manifest.blobs:
            if client.has_blob(repository, blob.digest, pushing=True):
                skipped.append(blob.digest)
                continue
            if any(client.mount_blob(repository, blob.digest, source) for source in sources[:1]):
                mounted.append(blob.digest)
                continue
            if not store.has_blob(blob.digest):
                raise UsageError(
                    f"{ref} has a layer wasmkit did not pull ({blob.digest}), "
                    f"and {reference.registry} cannot mount it",
                    hint=f"re-pack its module as an image: wasmkit push {ref} --format compat",
                )
            client.upload_blob(
                repository,
                blob,
                store.blob_path(blob.digest),
                label=blob.annotations.get("org.opencontainers.image.title", ""),
            )
            uploaded.append(blob.digest)
        assert reference.tag is not None
        digest = client.put_manifest(repository, reference.tag, manifest.raw, manifest.media_type)
    finally:
        client.close()
    store.add_source(record.manifest_digest, reference.name)
    log.info(
        "pushed %s (%s): %d uploaded, %d skipped, %d mounted",
        reference,
        digest,
        len(uploaded),
        len(skipped),
        len(mounted),
    )
    return PushResult(
        str(reference),
        digest,
        record.module_sha256,
        tuple(uploaded),
        tuple(skipped),
        tuple(mounted),
    )


def fetch_manifest(
    client: RegistryClient, reference: Reference, platform: tuple[str, str] | None = None
) -> Manifest:
    """The image manifest ``reference`` names, digest-checked; an index is resolved to the wasm
    image, or with ``platform`` (``("linux", "amd64")``) to that platform's image."""
    raw, media_type = client.get_manifest(reference.repository, reference.reference)
    if media_type in INDEX_TYPES:
        chosen = select_platform(raw, *platform) if platform else select_from_index(raw)
        raw, media_type = client.get_manifest(reference.repository, chosen.digest)
    return parse_manifest(raw, media_type)


def pull(
    store: LocalStore,
    ref: str,
    options: RegistryOptions,
    *,
    progress: Progress | None = None,
    credential: Credential | None = None,
) -> ImageRecord:
    """Fetch ``ref`` into the store; the store changes only if every check passed.

    ``credential`` replaces the stored ones (a pull Secret the operator or node cache read).
    """
    reference = parse(ref)
    client = open_client(reference.registry, store, options, progress, credential)
    try:
        manifest = fetch_manifest(client, reference)
        location = find_module(manifest)
        if location.layer.size > MAX_MODULE_BYTES + 1024 * 1024:
            raise ModuleError(
                f"the module layer is {location.layer.size} bytes, over the 256 MiB limit",
                hint="Istio and wasmkit refuse modules this large",
            )
        with store.staging() as work:
            files: dict[Digest, Path] = {}
            # A module inside a tar is found, checked and hashed while its layer downloads (one
            # pass over the bytes), and unpacked on first use (module_path), so a pull writes
            # each byte once.
            scanner = LayerScanner(None) if location.in_tar else None
            extracted = None
            for blob in used_blobs(manifest, location):
                held = store.hold_blob(blob.digest, work)
                if held is not None:
                    files[blob.digest] = held
                    continue
                part = work / f"{blob.digest.hex}.partial"
                scan = scanner if blob.digest == location.layer.digest else None
                client.download_blob(
                    reference.repository,
                    blob,
                    part,
                    label=blob.annotations.get("org.opencontainers.image.title", ""),
                    sink=scan.feed if scan else None,
                )
                if scan:
                    extracted = scan.finish()
                done = work / blob.digest.hex
                part.rename(done)
                files[blob.digest] = done
            layer_file = files[location.layer.digest]
            module_file = None if location.in_tar else work / "module.wasm"
            if extracted is None:  # the layer was in the store already, or is the module
                extracted = extract_module(location, layer_file, module_file)
            created = manifest.annotations.get("org.opencontainers.image.created", "")
            return store.commit(
                reference,
                manifest,
                files,
                module_file,
                extracted,
                layout=location.layout,
                created=created,
                source=reference.name,
            )
    finally:
        client.close()


def resolve(
    store: LocalStore, ref: str, options: RegistryOptions, *, credential: Credential | None = None
) -> Reference:
    """``ref`` pinned to the digest of the manifest the registry serves for it now."""
    reference = parse(ref)
    client = open_client(reference.registry, store, options, credential=credential)
    try:
        raw, _ = client.get_manifest(reference.repository, reference.reference)
    finally:
        client.close()
    return reference.with_digest(sha256_digest(raw))


def login(
    store: LocalStore, registry: str, username: str, password: str, options: RegistryOptions
) -> Path:
    """Check the credential against the registry, then save it (0600); returns the file."""
    if not username or not password:
        raise UsageError(
            "both a user name and a password are needed",
            hint="wasmkit login REGISTRY -u USER --password-stdin < password.txt",
        )
    credential = Credential(username, password, "login")
    client = open_client(registry, store, options, credential=credential)
    try:
        client.ping()
    finally:
        client.close()
    return CredentialStore(store.home).save(registry, credential)


def logout(store: LocalStore, registry: str) -> bool:
    return CredentialStore(store.home).remove(registry)
