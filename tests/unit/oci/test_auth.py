from __future__ import annotations

import base64
import json as _json

import pytest

from wasmkit.errors import AuthError
from wasmkit.oci._transport import Response
from wasmkit.oci.auth import Authenticator, covers, parse_challenge, scope_pull, scope_push
from wasmkit.oci.credentials import Credential


def test_bearer_challenge_with_commas_inside_quotes() -> None:
    header = (
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:a/b:pull,push",error="insufficient_scope"'
    )
    challenge = parse_challenge(header)
    assert challenge is not None
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.example.com/token",
        "service": "registry.example.com",
        "scope": "repository:a/b:pull,push",
        "error": "insufficient_scope",
    }


def test_basic_challenge_and_empty_header() -> None:
    challenge = parse_challenge('Basic realm="Registry Realm"')
    assert challenge is not None and challenge.scheme == "basic"
    assert challenge.params["realm"] == "Registry Realm"
    assert parse_challenge("") is None


def test_scopes() -> None:
    assert scope_pull("a/b") == "repository:a/b:pull"
    assert scope_push("a/b") == "repository:a/b:pull,push"


def test_a_credential_never_shows_its_secret() -> None:
    cred = Credential("alice", "s3cr3t", "test")
    assert "s3cr3t" not in repr(cred) and "s3cr3t" not in str(cred)


# The state machine of Authenticator, driven by a token endpoint of the test's own.


def _response(status: int, body: object = None, challenge: str = "") -> Response:
    content = _json.dumps(body).encode() if body is not None else b""
    headers = {"WWW-Authenticate": challenge} if challenge else {}
    return Response(status, headers, "https://reg/token", body=content)  # as after read_body


BEARER = 'Bearer realm="https://reg/token",service="reg"'  # a realm on the registry host


class _TokenEndpoint:
    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def __call__(self, method: str, url: str, **kwargs: object) -> Response:
        self.calls.append({"method": method, "url": url, **kwargs})
        return _response(200, {"token": f"t{len(self.calls)}"})


def test_an_expired_cached_token_is_fetched_again_once() -> None:
    endpoint = _TokenEndpoint()
    auth = Authenticator("reg", lambda: Credential("alice", "pw"), endpoint)
    scopes = ["repository:a/b:pull"]
    assert auth.header(scopes) is None
    auth.challenged(_response(401, challenge=BEARER), scopes)
    assert auth.header(scopes) == "Bearer t1"
    assert endpoint.calls[0]["params"] == [("service", "reg"), ("scope", "repository:a/b:pull")]
    assert auth.header(scopes) == "Bearer t1"  # cached, no new call
    auth.challenged(_response(401, challenge=BEARER + ',error="invalid_token"'), scopes)
    assert auth.header(scopes) == "Bearer t2"
    with pytest.raises(AuthError, match="rejected the credential"):
        auth.challenged(_response(401, challenge=BEARER + ',error="invalid_token"'), scopes)


def test_tokens_are_per_scope_set() -> None:
    endpoint = _TokenEndpoint()
    auth = Authenticator("reg", lambda: None, endpoint)
    auth.header(["repository:a:pull"])
    auth.challenged(_response(401, challenge=BEARER), ["repository:a:pull"])
    assert auth.header(["repository:a:pull"]) == "Bearer t1"
    assert auth.header(["repository:b:pull"]) == "Bearer t2"
    assert auth.header(["repository:a:pull,push"]) == "Bearer t3"
    assert "headers" in endpoint.calls[0] and endpoint.calls[0]["headers"] == {}  # anonymous


def _with_push_token() -> tuple[_TokenEndpoint, Authenticator]:
    """An Authenticator that learned Bearer auth and holds token t1 for pull,push on ``a``."""
    endpoint = _TokenEndpoint()
    auth = Authenticator("reg", lambda: Credential("alice", "pw"), endpoint)
    auth.header([scope_push("a")])
    auth.challenged(_response(401, challenge=BEARER), [scope_push("a")])
    assert auth.header([scope_push("a")]) == "Bearer t1"
    return endpoint, auth


def test_a_push_token_serves_the_same_repositorys_pull_and_nothing_else() -> None:
    endpoint, auth = _with_push_token()
    assert auth.header([scope_pull("a")]) == "Bearer t1"  # asked for pull,push: serves pull
    assert auth.header([scope_pull("b")]) == "Bearer t2"  # never another repository's
    assert auth.header([scope_push("a"), scope_pull("b")]) == "Bearer t3"
    assert len(endpoint.calls) == 3


def test_a_covering_token_that_is_refused_gives_way_to_an_exact_one() -> None:
    """A token server may grant less than asked: the refused token goes, an exact one is asked."""
    endpoint, auth = _with_push_token()
    assert auth.header([scope_pull("a")]) == "Bearer t1"
    auth.challenged(_response(401, challenge=BEARER), [scope_pull("a")])
    assert auth.header([scope_pull("a")]) == "Bearer t2"
    assert endpoint.calls[-1]["params"] == [("service", "reg"), ("scope", scope_pull("a"))]


@pytest.mark.parametrize(
    ("asked", "wanted", "served"),
    [
        (["repository:a:pull,push"], ["repository:a:pull"], True),
        (["repository:a:pull,push"], ["repository:a:push,pull"], True),
        (["repository:a:pull"], ["repository:a:pull,push"], False),
        (["repository:a:pull,push"], ["repository:ab:pull"], False),
        (["repository:a:pull,push"], ["repository:a/b:pull"], False),
        (["repository:a:pull", "repository:b:pull"], ["repository:b:pull"], True),
        (["repository:a:pull"], ["registry:catalog:*"], False),
        (["repository:a:pull"], ["pull"], False),
    ],
)
def test_which_token_covers_which_scopes(asked: list[str], wanted: list[str], served: bool) -> None:
    assert covers(asked, wanted) is served


def test_insufficient_scope_and_anonymous_refusals() -> None:
    auth = Authenticator("reg", lambda: Credential("bob", "pw"), _TokenEndpoint())
    scopes = ["repository:a:pull,push"]
    auth.header(scopes)
    auth.challenged(_response(401, challenge=BEARER), scopes)
    auth.header(scopes)
    with pytest.raises(AuthError, match="not allowed"):
        auth.challenged(_response(401, challenge=BEARER + ',error="insufficient_scope"'), scopes)
    anonymous = Authenticator("reg", lambda: None, _TokenEndpoint())
    with pytest.raises(AuthError, match="requires authentication") as caught:
        anonymous.challenged(_response(401, challenge='Basic realm="r"'), scopes)
    assert caught.value.hint and "wasmkit login reg" in caught.value.hint


def test_basic_is_sent_once_learned_and_refused_once_sent() -> None:
    auth = Authenticator("reg", lambda: Credential("alice", "pw"), _TokenEndpoint())
    auth.challenged(_response(401, challenge='Basic realm="r"'), [])
    assert auth.header([]) == "Basic " + base64.b64encode(b"alice:pw").decode()
    with pytest.raises(AuthError, match="rejected"):
        auth.challenged(_response(401, challenge='Basic realm="r"'), [])


def test_a_token_server_that_refuses() -> None:
    def refuse(method: str, url: str, **kwargs: object) -> Response:
        return _response(401)

    auth = Authenticator("reg", lambda: Credential("alice", "bad"), refuse)
    auth.challenged(_response(401, challenge=BEARER), [])
    with pytest.raises(AuthError, match="rejected"):
        auth.header([])


@pytest.mark.parametrize(
    ("realm", "registry", "gets"),
    [
        ("https://auth.docker.io/token", "https://registry-1.docker.io", True),
        ("https://gitlab.com/jwt/auth", "https://registry.gitlab.com", True),
        ("https://gitlab.example.com/jwt/auth", "https://registry.example.com", True),
        ("https://ghcr.io/token", "https://ghcr.io", True),
        ("https://127.0.0.1:9000/token", "https://127.0.0.1:5000", True),  # same host
        ("https://evil.com/token", "https://ghcr.io", False),
        ("https://io/token", "https://ghcr.io", False),  # a parent of one label is a TLD
        ("https://localhost/token", "https://127.0.0.1:5000", False),
        ("https://10.0.0.2/token", "https://10.0.0.1", False),
        ("https://docker.io.evil.com/t", "https://registry-1.docker.io", False),
    ],
)
def test_which_realm_gets_the_credential(realm: str, registry: str, gets: bool) -> None:
    from wasmkit.oci.auth import origin, realm_gets_credential

    where, home = origin(realm), origin(registry)
    assert where is not None and home is not None
    assert realm_gets_credential(where, home) is gets


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://h/x", "/token", "", "http://"])
def test_only_http_urls_have_an_origin(url: str) -> None:
    from wasmkit.oci.auth import origin

    assert origin(url) is None


@pytest.mark.parametrize("token", ["a b", "tok\r\nX-Injected: 1", "t\u00e9", "", "x" * 70_000])
def test_a_token_that_is_not_a_bearer_token_is_refused(token: str) -> None:
    def answer(method: str, url: str, **kwargs: object) -> Response:
        return _response(200, {"token": token})

    auth = Authenticator("reg", lambda: None, answer)
    auth.challenged(_response(401, challenge=BEARER), [])
    with pytest.raises(AuthError, match=r"not a bearer token|sent no token"):
        auth.header([])


# Several challenges in one value: a registry may send Basic and Bearer, as two headers (which
# the transport joins with ", ", as HTTP allows) or as one list.

CHALLENGE_LISTS = [
    # (value, scheme answered, its params)
    (
        'Bearer realm="https://a/token",service="s", Basic realm="b"',
        "bearer",
        {"realm": "https://a/token", "service": "s"},
    ),
    (
        'Basic realm="b", Bearer realm="https://a/token",service="s"',
        "bearer",
        {"realm": "https://a/token", "service": "s"},
    ),
    # the first of two Bearer challenges, not a mix of both, nor the last
    (
        'Bearer realm="https://a/token",service="s", Bearer realm="https://b/token"',
        "bearer",
        {"realm": "https://a/token", "service": "s"},
    ),
    # a scheme wasmkit does not speak (with a token68) is passed over for one it does
    (
        'Negotiate YWJj==, Basic realm="Registry, Inc. Foo bar"',
        "basic",
        {"realm": "Registry, Inc. Foo bar"},
    ),
    ("NTLM", "ntlm", {}),
    # spaces around "=", unquoted values, a quoted-pair
    (
        'Bearer realm = "https://a/token" , service=s',
        "bearer",
        {"realm": "https://a/token", "service": "s"},
    ),
    ('Basic realm="a \\"quoted\\" word"', "basic", {"realm": 'a "quoted" word'}),
]


@pytest.mark.parametrize(("value", "scheme", "params"), CHALLENGE_LISTS)
def test_the_challenge_answered_from_a_list(
    value: str, scheme: str, params: dict[str, str]
) -> None:
    challenge = parse_challenge(value)
    assert challenge is not None
    assert (challenge.scheme, challenge.params) == (scheme, params)


def test_two_www_authenticate_headers_as_the_transport_joins_them() -> None:
    from wasmkit.oci._transport import Headers

    headers = Headers(
        [
            ("WWW-Authenticate", 'Basic realm="registry"'),
            ("Www-Authenticate", 'Bearer realm="https://reg/token",service="reg"'),
        ]
    )
    challenge = parse_challenge(headers.get("www-authenticate", ""))
    assert challenge == parse_challenge('Bearer realm="https://reg/token",service="reg"')
