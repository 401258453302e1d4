"""HTTP proxies from the environment, as curl and requests read them.

``http_proxy``, ``https_proxy`` and ``all_proxy`` (lower case first) name the proxy for a URL's
scheme, unless ``no_proxy`` exempts its host (``*``, names and domain suffixes, ``host:port``,
CIDR ranges, IPv6 in brackets). Plain HTTP goes through the proxy in absolute form; https goes
through a ``CONNECT`` tunnel, so the proxy never sees the registry's traffic or credentials. A
proxy's own user:password (percent-encoded in its URL) goes to the proxy only; its 407 is an
AuthError naming the proxy, and a failure to reach it or through it names the proxy too.
"""

from __future__ import annotations

import base64
import http.client
import os
import ssl
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

from wasmkit.errors import AuthError, ProxyUnreachable


def _env(name: str, environ: Mapping[str, str]) -> str:
    return environ.get(name.lower()) or environ.get(name.upper()) or ""


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL the environment gives for ``url``, or None (no proxy, or no_proxy)."""
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    proxy = _env(f"{parts.scheme}_proxy", environ) or _env("all_proxy", environ)
    port = parts.port or (443 if parts.scheme == "https" else 80)  # as no_proxy's host:port
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


class TunnelConnection(http.client.HTTPSConnection):
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


def authorization(proxy: str) -> dict[str, str]:
    where = urlsplit(proxy)
    if where.username is None:
        return {}
    pair = f"{unquote(where.username)}:{unquote(where.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode()}


def open_via(connection: http.client.HTTPConnection, proxy: str) -> None:
    """Connect to ``proxy`` (and through its tunnel): what fails here is said to be the
    proxy's, not the registry's, whose address the user would check in vain."""
    try:
        connection.connect()
    except ssl.SSLError:
        raise  # the registry's TLS, through the tunnel
    except OSError as exc:
        text = str(exc)
        if text.startswith("Tunnel connection failed: 407"):  # http.client says it in words only
            raise refused(proxy) from None
        if text.startswith("Tunnel connection failed: "):
            reason = "it answered CONNECT with " + text.removeprefix("Tunnel connection failed: ")
        else:
            reason = "timed out" if isinstance(exc, TimeoutError) else exc.strerror or text
        where = urlsplit(proxy)
        raise ProxyUnreachable(f"the proxy {where.hostname}:{where.port or 80}: {reason}") from None


def refused(proxy: str) -> AuthError:
    where = urlsplit(proxy)
    how = "refused the user and password in its URL" if where.username else "requires a login"
    return AuthError(
        f"the proxy {where.hostname}:{where.port or 80} {how} (407 Proxy Authentication Required)",
        hint="give the proxy's user and password in its URL, "
        "http://USER:PASSWORD@HOST:PORT in https_proxy or http_proxy (percent-encode "
        "':', '@' and '/' in them), or set no_proxy to reach this registry directly",
    )
