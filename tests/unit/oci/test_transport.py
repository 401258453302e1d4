"""The transport's pure parts: which proxy the environment gives, headers, trust, short bodies.

What needs a real peer (redirects, kept connections, proxies, TLS handshakes) is in
tests/integration/oci/test_transport.py; a short body here is read from a socket pair.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from pathlib import Path

import pytest

from wasmkit.errors import BrokenBody, UntrustedInput, UsageError
from wasmkit.oci._proxy import bypassed, proxy_for
from wasmkit.oci._transport import Headers, Response, Transport

# -- no_proxy ----------------------------------------------------------------------------------

BYPASS = [
    # (host, port, no_proxy, bypassed)
    ("registry.example", 443, "*", True),
    ("registry.example", 443, "", False),
    ("registry.example", 443, " , ,", False),
    ("registry.example", 443, "registry.example", True),
    ("REGISTRY.Example", 443, "registry.EXAMPLE", True),
    ("registry.example", 443, "other.example, registry.example", True),
    # a suffix with or without its dot, or written *.suffix: the domain and every host under it
    ("a.b.example", 443, "example", True),
    ("a.b.example", 443, ".example", True),
    ("example", 443, ".example", True),
    ("a.b.example", 443, "*.example", True),
    ("example", 443, "*.example", True),
    # ... but never a name that only ends with the same letters
    ("badexample", 443, "example", False),
    ("badexample", 443, ".example", False),
    ("badexample", 443, "*.example", False),
    ("example.evil", 443, "example", False),
    # host:port exempts that port only
    ("registry.example", 5000, "registry.example:5000", True),
    ("registry.example", 5001, "registry.example:5000", False),
    ("registry.example", 443, "registry.example:https", False),
    ("a.registry.example", 5000, ".registry.example:5000", True),
    # CIDR ranges, v4 and v6; a name is never in a range
    ("10.1.2.3", 80, "10.0.0.0/8", True),
    ("11.1.2.3", 80, "10.0.0.0/8", False),
    ("10.1.2.3", 80, "10.0.0.1/8", True),  # host bits set: still the /8
    ("registry.example", 80, "10.0.0.0/8", False),
    ("::1", 80, "::1/128", True),
    ("[::1]", 80, "::1/128", True),
    ("fd00::5", 80, "fd00::/8", True),
    ("fe80::5", 80, "fd00::/8", False),
    ("10.1.2.3", 80, "not/a-range", False),
    # IPv6 addresses, bare or bracketed, with or without a port
    ("::1", 5000, "::1", True),
    ("::1", 5000, "[::1]", True),
    ("[::1]", 5000, "::1", True),
    ("::1", 5000, "[::1]:5000", True),
    ("::1", 5001, "[::1]:5000", False),
    ("::2", 5000, "[::1]:5000", False),
    # an IPv4 address is a name to no_proxy: no prefix matching of numbers
    ("127.0.0.1", 5000, "127.0.0.1", True),
    ("127.0.0.1", 5000, "127.0.0.1:5000", True),
    ("127.0.0.10", 5000, "127.0.0.1", False),
]


@pytest.mark.parametrize(("host", "port", "no_proxy", "expected"), BYPASS)
def test_bypassed(host: str, port: int, no_proxy: str, expected: bool) -> None:
    assert bypassed(host, port, no_proxy) is expected


# -- proxy_for ---------------------------------------------------------------------------------

PROXY_FOR = [
    # (url, environment, proxy)
    ("https://r.example/v2/", {}, None),
    ("https://r.example/v2/", {"https_proxy": "http://p:3128"}, "http://p:3128"),
    ("https://r.example/v2/", {"HTTPS_PROXY": "http://P:3128"}, "http://P:3128"),
    (
        "https://r.example/v2/",
        {"https_proxy": "http://p:1", "HTTPS_PROXY": "http://P:2"},
        "http://p:1",
    ),
    ("https://r.example/v2/", {"https_proxy": "", "HTTPS_PROXY": "http://P:2"}, "http://P:2"),
    # the scheme picks the variable: http_proxy does not carry https, nor the other way round
    ("https://r.example/v2/", {"http_proxy": "http://p:3128"}, None),
    ("http://r.example/v2/", {"https_proxy": "http://p:3128"}, None),
    ("http://r.example/v2/", {"http_proxy": "http://p:3128"}, "http://p:3128"),
    # all_proxy (either case) for a scheme without its own
    ("https://r.example/", {"all_proxy": "http://a:1"}, "http://a:1"),
    ("https://r.example/", {"ALL_PROXY": "http://A:1"}, "http://A:1"),
    ("http://r.example/", {"all_proxy": "http://a:1", "http_proxy": "http://h:1"}, "http://h:1"),
    # a value without a scheme is an HTTP proxy; its credentials stay in the URL
    ("https://r.example/", {"https_proxy": "p.example:3128"}, "http://p.example:3128"),
    ("https://r.example/", {"https_proxy": "u:pw@p:3128"}, "http://u:pw@p:3128"),
    ("https://r.example/", {"https_proxy": "socks5://p:1080"}, "socks5://p:1080"),
    # no_proxy, either case, lower first; it needs a port only where it names one
    ("https://r.example/", {"https_proxy": "http://p:1", "no_proxy": "r.example"}, None),
    ("https://r.example/", {"https_proxy": "http://p:1", "NO_PROXY": "r.example"}, None),
    (
        "https://r.example/",
        {"https_proxy": "http://p:1", "no_proxy": "other", "NO_PROXY": "r.example"},
        "http://p:1",
    ),
    ("https://r.example:5000/", {"https_proxy": "http://p:1", "no_proxy": "r.example"}, None),
    ("https://r.example:5000/", {"https_proxy": "http://p:1", "no_proxy": "r.example:5000"}, None),
    (
        "https://r.example:5001/",
        {"https_proxy": "http://p:1", "no_proxy": "r.example:5000"},
        "http://p:1",
    ),
    # a URL without a port is on its scheme's default port, which no_proxy may name
    ("https://r.example/", {"https_proxy": "http://p:1", "no_proxy": "r.example:443"}, None),
    ("http://r.example/", {"http_proxy": "http://p:1", "no_proxy": "r.example:80"}, None),
    ("http://r.example/", {"http_proxy": "http://p:1", "no_proxy": "r.example:443"}, "http://p:1"),
    ("https://[::1]:5000/v2/", {"https_proxy": "http://p:1", "no_proxy": "::1"}, None),
    ("https://[::1]:5000/v2/", {"https_proxy": "http://p:1", "no_proxy": "[::1]:5000"}, None),
    ("https://[::1]:5000/v2/", {"https_proxy": "http://p:1", "no_proxy": "::1/128"}, None),
    ("https://10.2.3.4/v2/", {"https_proxy": "http://p:1", "no_proxy": "10.0.0.0/8"}, None),
    ("https://R.Example/", {"https_proxy": "http://p:1", "no_proxy": "*"}, None),
]


@pytest.mark.parametrize(("url", "environ", "expected"), PROXY_FOR)
def test_proxy_for(url: str, environ: dict[str, str], expected: str | None) -> None:
    assert proxy_for(url, environ) == expected


def test_proxy_for_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_for("https://r.example/") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://p:3128")
    assert proxy_for("https://r.example/") == "http://p:3128"


# -- headers -----------------------------------------------------------------------------------


def test_headers_are_case_insensitive_and_repeated_ones_joined() -> None:
    headers = Headers(
        [
            ("WWW-Authenticate", 'Bearer realm="a"'),
            ("Content-Length", "3"),
            ("www-authenticate", 'Basic realm="b"'),
        ]
    )
    assert headers["www-authenticate"] == 'Bearer realm="a", Basic realm="b"'
    assert headers.get("WWW-AUTHENTICATE") == headers["Www-Authenticate"]
    assert headers.get("content-length") == "3"
    assert headers.get("Location") is None and headers.get("Location", "") == ""
    assert "CONTENT-LENGTH" in headers and "Location" not in headers and 3 not in headers
    with pytest.raises(KeyError):
        headers["Location"]
    headers["LOCATION"] = "/v2/"
    assert headers["location"] == "/v2/"
    headers["Location"] = "/v2/x"  # a set replaces, it does not join
    assert headers.get("location") == "/v2/x"


def test_a_response_takes_a_plain_mapping_of_headers() -> None:
    response = Response(200, {"Docker-Content-Digest": "sha256:0"}, body=b"{}")
    assert response.headers.get("docker-content-digest") == "sha256:0"
    assert response.content == b"{}" and response.read1(10) == b""


# -- trust -------------------------------------------------------------------------------------


@pytest.fixture
def clean_trust(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return monkeypatch


def _not_pem(tmp_path: Path) -> Path:
    path = tmp_path / "not-a-ca.pem"
    path.write_text(
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    )
    return path


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
@pytest.mark.parametrize("kind", ["missing", "not PEM", "empty"])
def test_an_unusable_ca_bundle_variable_is_a_usage_error_with_a_hint(
    tmp_path: Path, clean_trust: pytest.MonkeyPatch, variable: str, kind: str
) -> None:
    path = {
        "missing": tmp_path / "nowhere.pem",
        "not PEM": _not_pem(tmp_path),
        "empty": tmp_path / "empty.pem",
    }[kind]
    if kind == "empty":
        path.write_bytes(b"")
    clean_trust.setenv(variable, str(path))
    with pytest.raises(UsageError) as raised:
        Transport()._tls()
    assert str(path) in raised.value.message and variable in raised.value.message
    assert raised.value.hint and "unset it" in raised.value.hint


def test_requests_ca_bundle_is_read_before_curl_ca_bundle(
    tmp_path: Path, clean_trust: pytest.MonkeyPatch
) -> None:
    clean_trust.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "requests.pem"))
    clean_trust.setenv("CURL_CA_BUNDLE", str(tmp_path / "curl.pem"))
    with pytest.raises(UsageError, match=r"requests\.pem"):
        Transport()._tls()


def test_a_ca_bundle_directory_is_accepted(tmp_path: Path, clean_trust: pytest.MonkeyPatch) -> None:
    clean_trust.setenv("REQUESTS_CA_BUNDLE", str(tmp_path))
    context = Transport()._tls()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.parametrize("kind", ["missing", "not PEM"])
def test_an_unusable_ca_file_is_a_usage_error_with_a_hint(
    tmp_path: Path, clean_trust: pytest.MonkeyPatch, kind: str
) -> None:
    path = tmp_path / "nowhere.pem" if kind == "missing" else _not_pem(tmp_path)
    with pytest.raises(UsageError) as raised:
        Transport(ca_file=path)._tls()
    assert f"--ca-file {path}" in raised.value.message
    assert raised.value.hint and "PEM" in raised.value.hint


def test_verification_is_on_by_default_and_off_only_when_asked(
    tmp_path: Path, clean_trust: pytest.MonkeyPatch
) -> None:
    context = Transport()._tls()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert Transport()._tls() is not context  # one context per transport...
    transport = Transport()
    assert transport._tls() is transport._tls()  # ... built once
    insecure = Transport(verify=False)._tls()
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname
    # --insecure does not read a CA bundle variable it would not use
    clean_trust.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "nowhere.pem"))
    assert Transport(verify=False)._tls().verify_mode == ssl.CERT_NONE


# -- bodies ------------------------------------------------------------------------------------


def _answer(raw: bytes, method: str = "GET") -> Response:
    """The answer ``raw`` as the transport gives it, read from a real socket."""
    ours, theirs = socket.socketpair()
    with theirs:
        theirs.sendall(raw)
    response = http.client.HTTPResponse(ours, method=method)
    ours.close()  # the response holds its own file on the socket
    response.begin()
    return Response(response.status, Headers(response.getheaders()), "http://r/x", raw=response)


def test_a_body_shorter_than_its_content_length_is_broken_not_short() -> None:
    response = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    assert response.read1(100) == b"abc"
    with pytest.raises(BrokenBody, match="7 bytes early"):
        response.read1(100)


def test_a_body_read_to_its_content_length_ends_cleanly() -> None:
    response = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA")
    assert response.read1(100) == b"abc"
    assert response.read1(100) == b""
    assert response.read1(0) == b""


def test_a_chunked_body_cut_short_is_an_http_error() -> None:
    response = _answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nabc")
    with pytest.raises(http.client.HTTPException):
        while response.read1(100):
            pass


def test_a_head_answer_has_no_body_whatever_its_content_length() -> None:
    response = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", method="HEAD")
    assert response.read1(100) == b""
    assert response.headers["content-length"] == "10"


# -- redirects, decided before any byte is sent --------------------------------------------------

REDIRECTS = [
    # (from, Location, where to, Authorization kept)
    ("https://r.example/v2/x", "/v2/y", "https://r.example/v2/y", True),
    ("https://r.example/v2/x", "y", "https://r.example/v2/y", True),
    ("https://r.example/v2/x", "https://r.example:443/z", "https://r.example:443/z", True),
    ("https://r.example/v2/x", "https://R.EXAMPLE/z", "https://R.EXAMPLE/z", True),
    ("https://r.example/v2/x", "https://cdn.example/b", "https://cdn.example/b", False),
    ("https://r.example/v2/x", "//cdn.example/b", "https://cdn.example/b", False),
    ("https://r.example/v2/x", "https://r.example:8443/b", "https://r.example:8443/b", False),
    ("http://r.example/v2/x", "https://r.example/b", "https://r.example/b", False),
    ("http://r.example/v2/x", "http://r.example:80/b", "http://r.example:80/b", True),
]


@pytest.mark.parametrize(("start", "location", "target", "kept"), REDIRECTS)
def test_a_redirect_keeps_authorization_on_its_origin_only(
    start: str, location: str, target: str, kept: bool
) -> None:
    headers = {"authorization": "Basic c2VjcmV0", "Accept": "*/*"}
    assert Transport._redirected(start, location, headers) == target
    assert ("authorization" in headers) is kept and headers["Accept"] == "*/*"


@pytest.mark.parametrize(
    "location",
    [
        "http://r.example/v2/y",  # https -> http
        "http://cdn.example/b",
        "ftp://r.example/b",
        "file:///etc/passwd",
        "data:,hello",
        "javascript:alert(1)",
    ],
)
def test_a_redirect_that_leaves_https_or_http_is_refused(location: str) -> None:
    with pytest.raises(UntrustedInput, match="redirected to"):
        Transport._redirected("https://r.example/v2/x", location, {})
