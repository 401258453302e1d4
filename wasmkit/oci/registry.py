"""A client of the OCI distribution API, streaming every blob.

Only what filters need: ping, manifests (get/put), blobs (head, mount, monolithic upload with a
file body, download with digest verification). Auth is in :mod:`wasmkit.oci.auth`, HTTP in
:mod:`wasmkit.oci._transport` (kept connections, proxies, redirects). TLS is verified unless
``insecure``; ``ca_file`` adds a CA.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode, urljoin

from wasmkit._documents import load_json
from wasmkit.errors import (
    AuthError,
    InputFileError,
    IntegrityError,
    ManifestUnknown,
    ProxyUnreachable,
    ServiceUnavailable,
    UntrustedInput,
    UsageError,
    WasmkitError,
)
from wasmkit.oci._digest import CHUNK, Digest, sha256_digest
from wasmkit.oci._http import Deadline, chunks, read_body
from wasmkit.oci._tls import tls_problem
from wasmkit.oci._transport import FileBody, Response, Transport
from wasmkit.oci.auth import Authenticator, login_hint, origin, scope_pull, scope_push
from wasmkit.oci.credentials import Credential
from wasmkit.oci.layout import (
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_MANIFEST,
    Descriptor,
    declared_media_type,
)
from wasmkit.oci.progress import NullProgress, Progress
from wasmkit.oci.reference import api_host

log = logging.getLogger(__name__)

ACCEPT = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))


def _registry_errors(response: Response, timeout: float) -> str:
    """The registry's own words about an error, from at most 64 KiB of its answer."""
    body = read_body(response, 64 * 1024, strict=False, timeout=timeout)
    try:
        errors = load_json(body, "the error", max_bytes=64 * 1024).get("errors") or []
        words = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors[:5])
    except (InputFileError, AttributeError, TypeError):
        words = ""
    return (words or body[:200].decode("utf-8", "replace").strip())[:500]


class RegistryClient:
    def __init__(
        self,
        registry: str,
        *,
        credential: Callable[[], Credential | None] = lambda: None,
        plain_http: bool = False,
        ca_file: Path | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
        progress: Progress | None = None,
    ):
        self.registry = registry
        self.plain_http = plain_http
        self.base = f"{'http' if plain_http else 'https'}://{api_host(registry)}"
        self.ca_file = ca_file
        self.timeout = timeout
        self.progress: Progress = progress or NullProgress()
        self._transport = Transport(
            timeout=timeout,
            verify=not insecure,
            ca_file=ca_file,
            # bytes as their digests say
            headers={"User-Agent": "wasmkit", "Accept-Encoding": "identity"},
        )
        self.auth = Authenticator(registry, credential, self._send, self.base, timeout)
        if insecure:
            log.warning("TLS certificates of %s are not verified (--insecure)", registry)

    def close(self) -> None:
        self._transport.close()

    # -- transport -----------------------------------------------------------------------------

    def _send(self, method: str, url: str, **kwargs: Any) -> Response:
        """One request through the transport; every body is read by read_body or a bounded
        loop. Network and TLS failures become wasmkit's errors, naming the cause."""
        try:
            return self._transport.request(method, url, **kwargs)
        except ssl.SSLError as exc:
            raise tls_problem(self.registry, exc, self.ca_file) from None
        except ProxyUnreachable as exc:
            raise ServiceUnavailable(
                f"cannot reach the registry {self.registry} through {exc}",
                hint="check the proxy in https_proxy / http_proxy (or all_proxy), "
                f"or add {api_host(self.registry)} to no_proxy to reach the registry directly",
            ) from None
        except TimeoutError as exc:  # connecting, or an answer's head (each within --timeout)
            raise ServiceUnavailable(
                f"the registry {self.registry} did not answer in time: {_short(exc)} "
                f"(--timeout {self.timeout:g} s)",
                hint="the registry or the network is slow, or stalls on purpose; retry, or give "
                "more time with --timeout",
            ) from None
        except http.client.BadStatusLine as exc:
            if isinstance(exc, http.client.RemoteDisconnected):
                raise self._unreachable("it closed the connection without an answer") from None
            first = str(exc.args[0] if exc.args else "")[:60]
            raise ServiceUnavailable(
                f"{self.registry} does not answer in HTTP (its first line: {first!r})",
                hint="check the address and port: another service answers there"
                + ("; if it speaks TLS (https), drop --plain-http" if self.plain_http else ""),
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(_short(exc)) from None

    def _unreachable(self, why: str) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"cannot reach the registry {self.registry}: {why}",
            hint="check the address and that the registry runs; "
            + (
                "if it speaks TLS (https), drop --plain-http"
                if self.plain_http
                else "a local registry without TLS needs --plain-http"
            ),
        )

    def _request(
        self,
        method: str,
        path: str,
        scopes: Sequence[str],
        *,
        body: Callable[[], Any] | None = None,
        ok: Sequence[int] = (200,),
        stream: bool = False,
        **kwargs: Any,
    ) -> Response:
        url = urljoin(self.base, path)
        home = self._check_origin(url)
        headers = dict(kwargs.pop("headers", {}))
        for attempt in range(3):
            # the credential (or its token) goes to the registry's own origin only
            auth = self.auth.header(scopes) if home else None
            if auth:
                headers["Authorization"] = auth
            data = body() if body else None
            response = self._send(method, url, headers=headers, body=data, **kwargs)
            if response.status_code == 401 and attempt < 2 and home:
                # read, so that the connection is reused
                read_body(response, 64 * 1024, strict=False, timeout=self.timeout)
                response.close()
                self.auth.challenged(response, scopes)
                continue
            break
        if response.status_code in (401, 403):
            denied = _registry_errors(response, self.timeout)
            response.close()
            cred = self.auth.credential()
            raise AuthError(
                f"{self.registry} denied {method} {path.split('?')[0]} "
                f"({response.status_code}: {denied})",
                hint=login_hint(self.registry)
                if cred is None
                else "the user may lack access to this repository; log in as one who has it",
            )
        if response.status_code not in ok:
            detail = _registry_errors(response, self.timeout)
            response.close()
            problem = ServiceUnavailable if response.status_code >= 500 else UsageError
            raise problem(
                f"{self.registry} answered {response.status_code} to {method} "
                f"{path.split('?')[0]}: {detail}",
                hint="check the reference and the registry's logs",
            )
        if not stream:
            read_body(response, timeout=self.timeout)  # the caller reads no body, or a small one
        return response

    def _check_origin(self, url: str) -> bool:
        """True when ``url`` is the registry's own origin. A URL the registry sent (an upload
        Location) may name another origin: it gets no credential, and never plain HTTP when
        the registry speaks https, nor a scheme other than http(s)."""
        mine, theirs = origin(self.base), origin(url)
        if theirs == mine:
            return True
        if theirs is None or (mine is not None and mine[0] == "https" and theirs[0] != "https"):
            raise UntrustedInput(
                f"{self.registry} sent a URL on another origin ({url[:200]}) that would "
                "downgrade or leave https",
                hint="wasmkit sends nothing over plain HTTP for an https registry; "
                "the registry or a proxy in between is misconfigured or hostile",
            )
        log.info(
            "%s sent a URL on another origin, %s: sent without credentials", self.registry, url
        )
        return False

    # -- API -----------------------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/ with auth: proves the registry answers and accepts the credential."""
        self._request("GET", "/v2/", ()).close()

    def get_manifest(self, repository: str, reference: str | Digest) -> tuple[bytes, str]:
        """The manifest's exact bytes and media type, verified against ``reference`` when it
        is a digest, and against the ``Docker-Content-Digest`` header when the registry sends
        one."""
        response = self._request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            (scope_pull(repository),),
            headers={"Accept": ACCEPT},
            stream=True,
            ok=(200, 404),
        )
        with response:
            if response.status_code == 404:
                raise ManifestUnknown(
                    f"{self.registry}/{repository} has no "
                    f"{'manifest' if ':' in reference else 'tag'} {reference}",
                    hint="check the name and tag (`skopeo list-tags docker://REPO` lists tags)",
                )
            declared = response.headers.get("Content-Length", "")
            length = int(declared) if declared.isdigit() else MAX_MANIFEST
            deadline = Deadline(
                f"the manifest {self.registry}/{repository}:{reference}",
                min(length, MAX_MANIFEST),
                self.timeout,
            )
            received = bytearray()
            for piece in chunks(response, deadline, CHUNK):
                received += piece
                if len(received) > MAX_MANIFEST:
                    break
            raw = bytes(received)
        if len(raw) > MAX_MANIFEST:
            raise IntegrityError(
                f"the manifest of {repository}:{reference} is over 4 MiB",
                hint="this is not a filter image",
            )
        header = response.headers.get("Docker-Content-Digest")
        claimed = None
        if header is not None:
            claimed = Digest(header, f"the Docker-Content-Digest header from {self.registry}")
        for expected in (reference if isinstance(reference, Digest) else None, claimed):
            if expected is not None and sha256_digest(raw) != expected:
                raise IntegrityError(
                    f"the manifest {self.registry}/{repository} ({reference}) does not match "
                    f"its digest {expected}",
                    hint="the registry or a proxy in between altered it; do not use this registry",
                )
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        media_type = declared_media_type(raw) or media_type
        return raw, media_type

    def put_manifest(self, repository: str, reference: str, raw: bytes, media_type: str) -> Digest:
        self._request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            (scope_push(repository),),
            body=lambda: raw,
            headers={"Content-Type": media_type},
            ok=(200, 201),
        ).close()
        return sha256_digest(raw)

    def has_blob(self, repository: str, digest: Digest, *, pushing: bool = False) -> bool:
        """``pushing``: ask for the push scope already, so one token serves the whole push."""
        scope = scope_push(repository) if pushing else scope_pull(repository)
        response = self._request(
            "HEAD", f"/v2/{repository}/blobs/{digest}", (scope,), ok=(200, 404)
        )
        response.close()
        return response.status_code == 200

    def mount_blob(self, repository: str, digest: Digest, source: str) -> bool:
        """Ask the registry to link a blob from another repository; True when it did."""
        query = urlencode({"mount": digest, "from": source})
        response = self._request(
            "POST",
            f"/v2/{repository}/blobs/uploads/?{query}",
            (scope_push(repository), scope_pull(source)),
            ok=(201, 202),
        )
        response.close()
        if response.status_code == 202 and response.headers.get("Location"):
            # not mounted; an upload session was opened instead: cancel it
            self._request(
                "DELETE",
                response.headers["Location"],
                (scope_push(repository),),
                ok=(200, 202, 204, 404),
            ).close()
        return response.status_code == 201

    def upload_blob(
        self, repository: str, descriptor: Descriptor, path: Path, label: str = ""
    ) -> None:
        """Monolithic upload: POST opens a session, PUT streams the file with the digest."""
        scopes = (scope_push(repository),)
        start = self._request("POST", f"/v2/{repository}/blobs/uploads/", scopes, ok=(202,))
        start.close()
        location = start.headers.get("Location")
        if not location:
            raise ServiceUnavailable(
                f"{self.registry} opened an upload without a Location",
                hint="the registry does not follow the distribution API",
            )
        separator = "&" if "?" in location else "?"
        url = f"{location}{separator}{urlencode({'digest': descriptor.digest})}"
        task = self.progress.task(label or descriptor.digest[7:19], descriptor.size)
        handles: list[BinaryIO] = []

        def body() -> FileBody:
            f = path.open("rb")
            handles.append(f)
            deadline = Deadline(f"the upload of {descriptor.digest}", descriptor.size, self.timeout)

            def step(n: int) -> None:
                deadline.check()
                task.advance(n)

            return FileBody(f, descriptor.size, step)

        try:
            self._request(
                "PUT",
                url,
                scopes,
                body=body,
                ok=(201,),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(descriptor.size),
                },
            ).close()
        finally:
            for f in handles:
                f.close()
            task.close()

    def download_blob(
        self,
        repository: str,
        descriptor: Descriptor,
        dest: Path,
        label: str = "",
        sink: Callable[[bytes], None] | None = None,
    ) -> None:
        """Stream a blob into ``dest``, checking size and digest; IntegrityError if they differ.

        ``sink`` also gets each piece as it arrives (a layer scanner); what it raises is raised
        once the download is done and verified, so wrong bytes are named as such first.
        """
        response = self._request(
            "GET",
            f"/v2/{repository}/blobs/{descriptor.digest}",
            (scope_pull(repository),),
            stream=True,
            ok=(200, 404),
        )
        task = self.progress.task(label or descriptor.digest[7:19], descriptor.size)
        where = f"{self.registry}/{repository}@{descriptor.digest}"
        with response:
            if response.status_code == 404:
                raise ManifestUnknown(
                    f"blob {where} is missing from the registry",
                    hint="the image is incomplete; push it again",
                )
            h = hashlib.sha256()
            size = 0
            refused: WasmkitError | None = None
            deadline = Deadline(f"the download of {where}", descriptor.size, self.timeout)
            try:
                with dest.open("wb") as out:
                    for chunk in chunks(response, deadline, CHUNK):
                        size += len(chunk)
                        if size > descriptor.size:
                            break
                        h.update(chunk)
                        out.write(chunk)
                        task.advance(len(chunk))
                        if sink is not None and refused is None:
                            try:
                                sink(chunk)
                            except WasmkitError as exc:
                                refused = exc
            finally:
                task.close()
        if size != descriptor.size or "sha256:" + h.hexdigest() != descriptor.digest:
            dest.unlink(missing_ok=True)
            got = "more" if size > descriptor.size else f"{size}"
            raise IntegrityError(
                f"blob {where} does not match its digest "
                f"(expected {descriptor.size} bytes, got {got})",
                hint="the registry or a proxy in between served wrong bytes; nothing was stored",
            )
        if refused is not None:
            raise refused


def _short(exc: Exception) -> str:
    """What went wrong, in the words of the error (``Connection refused``, ``timed out``)."""
    if isinstance(exc, TimeoutError):
        return str(exc) or "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:200]
    return (str(exc) or type(exc).__name__)[:200]
