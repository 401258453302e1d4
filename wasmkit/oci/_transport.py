"""HTTP/1.1 for registries and token servers, on the standard library's ``http.client``.

A push or pull is a handful of small requests to one or two origins, so what it costs is
start-up and round trips, not bytes: this transport imports nothing beyond the standard
library, keeps one connection per origin alive for the whole transfer, and never reads a body
it was not asked to. What it keeps of a mature HTTP stack:

- **TLS** verified by default; the trust it starts from is :func:`wasmkit.oci._tls.tls_context`.
- **Proxies** from the environment (:mod:`wasmkit.oci._proxy`): https through ``CONNECT``.
- **Redirects** for GET and HEAD (a blob is often served from a CDN), at most
  :data:`MAX_REDIRECTS`; the ``Authorization`` header is dropped as soon as the origin
  changes and never comes back, and a redirect from https to plain HTTP or to another scheme
  is refused.
- **Stale connections**: a kept connection the server has closed is noticed before it is
  reused; a request whose body is none or bytes in memory that fails on a reused connection
  is sent once more on a fresh one (a streamed file body never is).
- **Bounds**: status and header lines as ``http.client`` bounds them (64 KiB, 100 headers),
  a socket timeout on connect and every read, and a body that ends before its
  ``Content-Length`` is an error, never a short success.
"""

from __future__ import annotations

import functools
import http.client
import io
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol, overload
from urllib.parse import urlencode, urljoin, urlsplit

from wasmkit.errors import BrokenBody, UntrustedInput, UsageError
from wasmkit.oci import _proxy
from wasmkit.oci._tls import tls_context

MAX_REDIRECTS = 10
_REDIRECTS = {301, 302, 303, 307, 308}
#: bytes per write of a file body (and the send buffer ``http.client`` uses)
BLOCK = 1024 * 1024


class Headers:
    """An answer's headers, looked up case-insensitively; repeated ones joined with ``, ``."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        self._map: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            self._map[key] = f"{self._map[key]}, {value}" if key in self._map else value

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    def get(self, name: str, default: str | None = None) -> str | None:
        return self._map.get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def __setitem__(self, name: str, value: str) -> None:
        self._map[name.lower()] = value


class Response:
    """One answer: status, headers, the URL that gave it, and a body read on demand.

    ``content`` is set once :func:`wasmkit.oci._http.read_body` has read a small body; a
    response built with ``body=`` (a test's) has it from the start.
    """

    def __init__(
        self,
        status_code: int,
        headers: Headers | Mapping[str, str] | None = None,
        url: str = "",
        *,
        body: bytes | None = None,
        raw: http.client.HTTPResponse | None = None,
        release: Callable[[http.client.HTTPResponse], None] | None = None,
    ):
        self.status_code = status_code
        self.headers = headers if isinstance(headers, Headers) else Headers((headers or {}).items())
        self.url = url
        self.content = body
        self._raw = raw
        self._release = release

    def read1(self, n: int) -> bytes:
        """At most ``n`` bytes of the body, as one read of the socket gives them; b"" at its end."""
        if self._raw is None:
            return b""
        raw = self._raw
        piece = raw.read1(n)
        if not piece and n and raw.length:  # ended before its Content-Length
            raise BrokenBody(f"the body ended {raw.length} bytes early")
        return piece

    def close(self) -> None:
        """Done with the body: the connection is kept if the body was read to its end."""
        raw, self._raw = self._raw, None
        if raw is not None and self._release is not None:
            self._release(raw)

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Reader(Protocol):
    def read(self, n: int = -1) -> bytes: ...


class FileBody:
    """``size`` bytes of an open file, sent by the kernel (``sendfile``: no copy through Python)
    in steps of :data:`BLOCK`; ``step`` is told each step's bytes before it is sent (progress, a
    deadline check). Over TLS, Python sends it with ``send`` instead."""

    def __init__(self, f: BinaryIO, size: int, step: Callable[[int], None] | None = None):
        self.file, self.size, self.step = f, size, step

    def send(self, sock: socket.socket) -> None:
        offset = self.file.tell()
        end = offset + self.size
        while offset < end:
            count = min(BLOCK, end - offset)
            if self.step is not None:
                self.step(count)
            sent = sock.sendfile(self.file, offset, count)
            if not sent:
                raise BrokenBody(f"the file ended {end - offset} bytes before its size")
            offset += sent


Body = bytes | Reader | FileBody | None


# -- the transport ----------------------------------------------------------------------------


class _PacedReader(io.RawIOBase):
    """A response's socket reads; until :attr:`end` (a monotonic time) is cleared, no read may
    wait past it, whatever the socket's own timeout allows."""

    def __init__(self, raw: Any, sock: socket.socket, end: float):
        self._raw, self._sock = raw, sock
        self.end: float | None = end
        self._got = 0  # bytes of the head read so far
        self._timeout = sock.gettimeout()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.end is not None:
            left = self.end - time.monotonic()
            if left <= 0:
                raise TimeoutError("the answer's status line and headers took too long")
            self._sock.settimeout(left if self._timeout is None else min(self._timeout, left))
        elif self._sock.gettimeout() != self._timeout:
            self._sock.settimeout(self._timeout)
        try:
            n = int(self._raw.readinto(buffer))
        except TimeoutError:
            if self.end is not None and time.monotonic() >= self.end:
                raise TimeoutError("the answer's status line and headers took too long") from None
            raise
        if self.end is not None:
            # http.client takes the end of the connection inside the headers for their end (a
            # short head, then a body read to the close): a head cut short is an error here
            if not n and self._got:
                raise ConnectionResetError("the connection ended inside the answer's headers")
            self._got += n
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


class _PacedResponse(http.client.HTTPResponse):
    """An answer whose status line and headers must arrive within ``within`` seconds in all (each
    read of them within the socket's timeout too): a server that drips its headers cannot hold
    a transfer. Its body's reads are the caller's to bound (``wasmkit.oci._http.Deadline``)."""

    def __init__(self, sock: socket.socket, *args: Any, within: float, **kwargs: Any):
        super().__init__(sock, *args, **kwargs)
        # the socket's own reader (it keeps the socket open while the body is read), paced
        self._paced = _PacedReader(self.fp.detach(), sock, time.monotonic() + within)
        self.fp = io.BufferedReader(self._paced)

    def begin(self) -> None:
        try:
            super().begin()
        finally:
            self._paced.end = None


def _origin_key(parts: Any) -> tuple[str, str, int]:
    default = 443 if parts.scheme == "https" else 80
    try:
        port = parts.port  # a port that is not a number in 0-65535 raises
    except ValueError:
        raise UntrustedInput(
            f"not a usable URL: {parts.geturl()[:200]!r} (its port)",
            hint="the registry or a proxy in between is misconfigured or hostile",
        ) from None
    return parts.scheme, (parts.hostname or "").lower(), port or default


class Transport:
    """Requests over kept connections, one per origin (and proxy); see the module doc."""

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        verify: bool = True,
        ca_file: Path | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        self.timeout = timeout
        self._verify, self._ca_file = verify, ca_file
        self._context: ssl.SSLContext | None = None
        self.headers = dict(headers or {})
        self._connections: dict[tuple[object, ...], http.client.HTTPConnection] = {}

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        params: Iterable[tuple[str, str]] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request (following GET/HEAD redirects); the body is left to the caller."""
        sent = {**self.headers, **(headers or {})}
        if params:
            url += ("&" if "?" in url else "?") + urlencode(list(params))
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        for _ in range(MAX_REDIRECTS + 1):
            response = self._once(method, url, sent, body)
            location = response.headers.get("Location")
            if method not in ("GET", "HEAD") or response.status_code not in _REDIRECTS:
                return response
            if not location:
                return response
            response.close()
            url = self._redirected(url, location, sent)
        raise UntrustedInput(
            f"{urlsplit(url).netloc} redirected more than {MAX_REDIRECTS} times",
            hint="the registry or a proxy in between is misconfigured or hostile",
        )

    @staticmethod
    def _redirected(url: str, location: str, headers: dict[str, str]) -> str:
        target = urljoin(url, location.strip())
        old, new = urlsplit(url), urlsplit(target)
        if (
            new.scheme not in ("http", "https")
            or not new.hostname
            or (old.scheme == "https" and new.scheme != "https")
        ):
            raise UntrustedInput(
                f"{old.netloc} redirected to {target[:200]}, which would leave https or HTTP",
                hint="wasmkit follows redirects only to http(s), and never from https to "
                "plain HTTP; the registry or a proxy in between is misconfigured or hostile",
            )
        if _origin_key(old) != _origin_key(new):
            for name in [h for h in headers if h.lower() == "authorization"]:
                del headers[name]
        return target

    def _once(self, method: str, url: str, headers: dict[str, str], body: Body) -> Response:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UntrustedInput(
                f"not an http(s) URL: {url[:200]}",
                hint="the registry or a proxy in between is misconfigured or hostile",
            )
        proxy = _proxy.proxy_for(url)
        key: tuple[object, ...] = (*_origin_key(parts), proxy)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        sent = dict(headers)
        if proxy and parts.scheme == "http":
            target = url.split("#")[0]  # absolute form: the proxy forwards it
            sent.update(_proxy.authorization(proxy))
        replayable = body is None or isinstance(body, bytes)
        for attempt in (0, 1):
            connection = self._connections.get(key)
            reused = connection is not None and connection.sock is not None
            if connection is None:
                connection = self._connect(parts, proxy)
                self._connections[key] = connection
            elif reused and _dropped(connection):
                connection.close()
                reused = False
            # every answer's head (a tunnel's too) within the timeout, however it is paced
            connection.response_class = functools.partial(  # type: ignore[assignment]
                _PacedResponse, within=self.timeout
            )
            try:
                if proxy is not None and connection.sock is None:
                    _proxy.open_via(connection, proxy)
                if isinstance(body, FileBody):
                    _send_file(connection, method, target, sent, body)
                else:
                    connection.request(method, target, body=body, headers=sent)
                raw = connection.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                connection.close()
                if reused and replayable and attempt == 0:
                    continue  # the server closed a kept connection as it was reused
                raise
            except ssl.SSLError:  # a certificate error is a ValueError too: not the case below
                connection.close()
                raise
            except (ValueError, http.client.InvalidURL) as exc:  # http.client's own checks
                connection.close()
                raise UntrustedInput(
                    f"a URL or header value is not valid HTTP ({str(exc)[:200]})",
                    hint="it came from the registry (a Location or a token) or the image; "
                    "the registry or a proxy in between is misconfigured or hostile",
                ) from None
            except BaseException:
                connection.close()
                raise
            if proxy and parts.scheme == "http" and raw.status == 407:
                raw.close()
                connection.close()
                raise _proxy.refused(proxy)
            return Response(
                raw.status,
                Headers(raw.getheaders()),
                url,
                raw=raw,
                release=functools.partial(_release, connection=connection),
            )
        raise AssertionError("unreachable")

    def _connect(self, parts: Any, proxy: str | None) -> http.client.HTTPConnection:
        host, port = parts.hostname, parts.port
        if proxy is not None:
            where = urlsplit(proxy)
            if where.scheme != "http" or not where.hostname:
                raise UsageError(
                    f"the proxy {where.scheme}://{where.hostname} is not supported",
                    hint="wasmkit speaks to HTTP proxies (http://HOST:PORT); "
                    "set no_proxy to reach this registry directly",
                )
            if parts.scheme == "http":
                return http.client.HTTPConnection(
                    where.hostname, where.port or 80, timeout=self.timeout, blocksize=BLOCK
                )
            connection = _proxy.TunnelConnection(
                where.hostname,
                where.port or 80,
                timeout=self.timeout,
                context=self._tls(),
                blocksize=BLOCK,
            )
            connection.set_tunnel(host, port or 443, headers=_proxy.authorization(proxy))
            return connection
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                host, port or 443, timeout=self.timeout, context=self._tls(), blocksize=BLOCK
            )
        return http.client.HTTPConnection(host, port or 80, timeout=self.timeout, blocksize=BLOCK)

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = tls_context(self._verify, self._ca_file)
        return self._context


def _send_file(
    connection: http.client.HTTPConnection,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: FileBody,
) -> None:
    names = {name.lower() for name in headers}
    connection.putrequest(
        method, target, skip_host="host" in names, skip_accept_encoding="accept-encoding" in names
    )
    for name, value in headers.items():
        if name.lower() != "content-length":
            connection.putheader(name, value)
    connection.putheader("Content-Length", str(body.size))
    connection.endheaders()
    assert connection.sock is not None
    body.send(connection.sock)


def _dropped(connection: http.client.HTTPConnection) -> bool:
    """A kept connection that is readable while idle was closed by the server (or is out of
    step): it must not carry the next request."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _release(raw: http.client.HTTPResponse, connection: http.client.HTTPConnection) -> None:
    """Keep the connection if the body was read to its end; otherwise close it, so no stale
    bytes meet the next answer. (An unread rest is never drained here: a registry that drips
    it would hold the close past every deadline.)"""
    if not raw.isclosed() and raw.length == 0:
        raw.read()  # nothing left to read (HEAD, 204, an empty body): marks it done
    if not raw.isclosed():
        raw.close()
        connection.close()
