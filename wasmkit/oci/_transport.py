"""HTTP/1.1 for registries and token servers, on the standard library's ``http.client``.

A push or pull is a handful of small requests to one or two origins, so what it costs is
start-up and round trips, not bytes: this transport imports nothing beyond the standard
library, keeps one connection per origin alive for the whole transfer, and never reads a body
it was not asked to. What it keeps of a mature HTTP stack:

- **TLS** verified by default, against the system's CAs (or ``REQUESTS_CA_BUNDLE`` /
  ``CURL_CA_BUNDLE`` when set, as tools built on requests honour them; certifi's bundle only
  where the system has none). ``ca_file`` adds a CA; ``verify=False`` is ``--insecure``.
- **Proxies** from ``http_proxy``, ``https_proxy``, ``all_proxy`` and ``no_proxy`` (lower
  case first, as curl reads them): plain HTTP through the proxy, https through a ``CONNECT``
  tunnel, so the proxy never sees the registry's traffic or credentials. A proxy's own
  user:password goes to the proxy only; its 407 is an AuthError naming the proxy, and a
  failure to reach it or through it names the proxy too.
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

import base64
import http.client
import os
import select
import socket
import ssl
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Protocol, overload
from urllib.parse import unquote, urlencode, urljoin, urlsplit

from wasmkit.errors import AuthError, BrokenBody, UntrustedInput, UsageError

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
        release: Any = None,
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


Body = bytes | Reader | BinaryIO | FileBody | None


# -- trust ------------------------------------------------------------------------------------


def tls_context(verify: bool, ca_file: Path | None) -> ssl.SSLContext:
    """The client TLS context: verification on unless ``verify`` is False; see the module doc."""
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if verify and bundle:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            if os.path.isdir(bundle):
                context.load_verify_locations(capath=bundle)
            else:
                context.load_verify_locations(cafile=bundle)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"the CA bundle {bundle[:200]} (REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE) cannot "
                f"be used: {exc}",
                hint="point the variable at a PEM file of CA certificates, or unset it",
            ) from None
    else:
        context = ssl.create_default_context()
        if verify and not _system_has_cas():
            try:
                import certifi  # only where the system has no CA store (e.g. python.org macOS)

                context.load_verify_locations(cafile=certifi.where())
            except ImportError:
                pass
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(
                f"--ca-file {ca_file} holds no usable certificate ({exc})",
                hint="pass the registry's CA certificate in PEM form (-----BEGIN CERTIFICATE-----)",
            ) from None
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _system_has_cas() -> bool:
    paths = ssl.get_default_verify_paths()
    return any(p and os.path.exists(p) for p in (paths.cafile, paths.capath))


# -- proxies ----------------------------------------------------------------------------------


def _env(name: str, environ: Mapping[str, str]) -> str:
    return environ.get(name.lower()) or environ.get(name.upper()) or ""


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL the environment gives for ``url``, or None (no proxy, or no_proxy)."""
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    proxy = _env(f"{parts.scheme}_proxy", environ) or _env("all_proxy", environ)
    port = _origin_key(parts)[2]  # no_proxy's host:port names the default port too
    if not proxy or bypassed(parts.hostname or "", port, _env("no_proxy", environ)):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``no_proxy`` (``*``, host names and domain suffixes, ``host:port``, CIDR ranges)
    exempts ``host``."""
    host = host.lower().strip("[]")
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return True
        if "/" in entry:
            if _in_network(host, entry):
                return True
            continue
        # host:port or [IPv6]:port; more colons unbracketed are a bare IPv6 address
        if entry.count(":") == 1 or (entry.startswith("[") and "]:" in entry):
            name, _, entry_port = entry.rpartition(":")
        else:
            name, entry_port = entry, ""
        if entry_port and (not entry_port.isdigit() or int(entry_port) != port):
            continue
        name = name.removeprefix("*").lstrip(".").strip("[]")
        if host == name or host.endswith("." + name):
            return True
    return False


def _in_network(host: str, cidr: str) -> bool:
    import ipaddress  # only where no_proxy names a range

    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


# -- the transport ----------------------------------------------------------------------------


def _origin_key(parts: Any) -> tuple[str, str, int]:
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


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
        proxy = proxy_for(url)
        key: tuple[object, ...] = (*_origin_key(parts), proxy)
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        sent = dict(headers)
        if proxy and parts.scheme == "http":
            target = url.split("#")[0]  # absolute form: the proxy forwards it
            sent.update(_proxy_authorization(proxy))
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
            try:
                if proxy is not None and connection.sock is None:
                    _open_via(connection, proxy)
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
            except BaseException:
                connection.close()
                raise
            if proxy and parts.scheme == "http" and raw.status == 407:
                raw.close()
                connection.close()
                raise _proxy_refused(proxy)
            return Response(
                raw.status,
                Headers(raw.getheaders()),
                url,
                raw=raw,
                release=lambda r, c=connection: _release(r, c),
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
            connection = _TunnelConnection(
                where.hostname,
                where.port or 80,
                timeout=self.timeout,
                context=self._tls(),
                blocksize=BLOCK,
            )
            connection.set_tunnel(host, port or 443, headers=_proxy_authorization(proxy))
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


class _TunnelConnection(http.client.HTTPSConnection):
    """HTTPS through a ``CONNECT`` tunnel, whose request line brackets an IPv6 address
    (``CONNECT [::1]:5000``, RFC 9110's authority-form; Python 3.11 sends ``::1:5000``, which a
    proxy cannot split into host and port). The certificate check sees the bare address."""

    def _tunnel(self) -> None:
        host: str = self._tunnel_host  # type: ignore[has-type]  # private, not in typeshed
        if ":" in host and not host.startswith("["):
            self._tunnel_host = f"[{host}]"
        try:
            super()._tunnel()  # type: ignore[misc]
        finally:
            self._tunnel_host = host


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


def _proxy_authorization(proxy: str) -> dict[str, str]:
    where = urlsplit(proxy)
    if where.username is None:
        return {}
    pair = f"{unquote(where.username)}:{unquote(where.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode()}


def _open_via(connection: http.client.HTTPConnection, proxy: str) -> None:
    """Connect to ``proxy`` (and through its tunnel): what fails here is said to be the
    proxy's, not the registry's, whose address the user would check in vain."""
    try:
        connection.connect()
    except ssl.SSLError:
        raise  # the registry's TLS, through the tunnel
    except OSError as exc:
        text = str(exc)
        if text.startswith("Tunnel connection failed: 407"):  # http.client says it in words only
            raise _proxy_refused(proxy) from None
        if text.startswith("Tunnel connection failed: "):
            reason = "it answered CONNECT with " + text.removeprefix("Tunnel connection failed: ")
        else:
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or text
        where = urlsplit(proxy)
        raise ConnectionError(f"the proxy {where.hostname}:{where.port or 80}: {reason}") from None


def _proxy_refused(proxy: str) -> AuthError:
    where = urlsplit(proxy)
    how = "refused the user and password in its URL" if where.username else "requires a login"
    return AuthError(
        f"the proxy {where.hostname}:{where.port or 80} {how} (407 Proxy Authentication Required)",
        hint="give the proxy's user and password in its URL, "
        "http://USER:PASSWORD@HOST:PORT in https_proxy or http_proxy (percent-encode "
        "':', '@' and '/' in them), or set no_proxy to reach this registry directly",
    )


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
