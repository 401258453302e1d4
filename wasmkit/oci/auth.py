"""Registry authentication: ``WWW-Authenticate`` challenges, Basic, and scoped Bearer tokens.

A registry answers 401 with a challenge. ``Basic`` means: send the credential on every
request. ``Bearer realm=...,service=...`` means: ask the token server at ``realm`` for a token
of the exact scopes needed (``repository:<name>:pull`` or ``pull,push``), with the credential as
Basic auth if there is one, anonymously otherwise. Tokens are cached per scope set; a cached
token serves a request whose scopes it was asked for (a push token serves the same repository's
pull, so a push fetches one token, not two), so a pull token is never sent for a push and a
token for one repository never for another.

Where credentials go: a realm must be an http(s) URL, and https when the registry speaks https
(never a downgrade to clear text). The credential goes to a realm on the registry's own host or
on a host of its parent domain (``registry-1.docker.io`` -> ``auth.docker.io``,
``registry.gitlab.com`` -> ``gitlab.com``), as the big registries lay out their token servers;
a realm anywhere else is asked anonymously. ``-v`` logs which realm was asked.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from wasmkit._documents import load_json
from wasmkit.errors import AuthError, InputFileError
from wasmkit.oci._http import MAX_BODY, read_body
from wasmkit.oci._transport import Response
from wasmkit.oci.credentials import Credential

log = logging.getLogger(__name__)

#: RFC 6750 b64token: what may follow ``Bearer `` in a header (nothing else is sent)
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]{1,65536}=*")
_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
#: an auth scheme, and the token68 that may follow it (``Negotiate abc==``)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9_.+-]*)(?:\s+[A-Za-z0-9\-._~+/]+=*(?=\s*(?:,|$)))?")


@dataclass(frozen=True)
class Challenge:
    scheme: str  # basic | bearer
    params: dict[str, str]


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a ``WWW-Authenticate`` value. A registry may send several (one
    header each, or one comma-separated list; the transport joins repeated headers with
    ``, ``): each parameter belongs to the challenge before it, the first of a name counts."""
    challenges: list[Challenge] = []
    pos = _skip_separators(header, 0)
    while pos < len(header):
        param = _PARAM.match(header, pos)
        if param is not None and challenges:
            value = param.group(2) if param.group(2) is not None else param.group(3)
            if param.group(2) is not None:
                value = re.sub(r"\\(.)", r"\1", value)  # a quoted-pair stands for its character
            challenges[-1].params.setdefault(param.group(1).lower(), value)
            pos = param.end()
        else:
            scheme = _SCHEME.match(header, pos)
            if scheme is None:
                break  # not a challenge list: what was read so far stands
            challenges.append(Challenge(scheme.group(1).lower(), {}))
            pos = scheme.end()
        pos = _skip_separators(header, pos)
    return challenges


def _skip_separators(header: str, pos: int) -> int:
    while pos < len(header) and header[pos] in " \t,":
        pos += 1
    return pos


def parse_challenge(header: str) -> Challenge | None:
    """The challenge to answer: the first Bearer one (scoped tokens), else the first Basic,
    else the first of a scheme wasmkit does not speak (reported as such)."""
    challenges = parse_challenges(header)
    for scheme in ("bearer", "basic"):
        for challenge in challenges:
            if challenge.scheme == scheme:
                return challenge
    return challenges[0] if challenges else None


def scope_pull(repository: str) -> str:
    return f"repository:{repository}:pull"


def scope_push(repository: str) -> str:
    return f"repository:{repository}:pull,push"


def covers(asked: Sequence[str], wanted: Sequence[str]) -> bool:
    """A token asked for the scopes ``asked`` serves ``wanted``: every wanted scope names a
    resource that was asked for, with no action beyond the ones asked. (A token server may
    grant less than asked; the registry's 401 then drops the token and an exact one is asked.)"""
    have: dict[str, set[str]] = {}
    for scope in asked:
        resource, _, actions = scope.rpartition(":")
        have.setdefault(resource, set()).update(actions.split(","))
    for scope in wanted:
        resource, _, actions = scope.rpartition(":")
        if not resource or not set(actions.split(",")) <= have.get(resource, set()):
            return False
    return True


def login_hint(registry: str) -> str:
    return f"log in with `wasmkit login {registry}` (or `docker login`), then retry"


Origin = tuple[str, str, int]


def origin(url: str) -> Origin | None:
    """``(scheme, host, port)`` of an http(s) URL; None for anything else (no secret goes there)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def _parent_domain(host: str) -> str | None:
    import ipaddress  # only when a realm is on another host

    try:
        ipaddress.ip_address(host)
        return None
    except ValueError:
        pass
    parent = host.split(".", 1)[1] if "." in host else ""
    return parent if parent.count(".") >= 1 else None


def realm_gets_credential(realm: Origin, registry: Origin) -> bool:
    """Docker's practice, bounded: the registry's host, or a host within its parent domain."""
    if realm[1] == registry[1]:
        return True
    parent = _parent_domain(registry[1])
    return parent is not None and (realm[1] == parent or realm[1].endswith("." + parent))


def basic_header(credential: Credential) -> str:
    raw = f"{credential.username}:{credential.secret}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Authenticator:
    """Holds what a client learned about one registry's auth: the scheme and cached tokens."""

    def __init__(
        self,
        registry: str,
        credential: Callable[[], Credential | None],
        send: Callable[..., Response],
        base: str = "",
        timeout: float = 30.0,
    ):
        self._timeout = timeout
        self.registry = registry
        self._origin = origin(base or f"https://{registry}")
        #: a realm that was asked without the credential (it is on another domain)
        self._withheld: str | None = None
        self._credential_source = credential
        self._credential: Credential | None = None
        self._credential_loaded = False
        self._send = send
        self._basic = False
        self._bearer: Challenge | None = None
        self._tokens: dict[tuple[str, ...], str] = {}
        #: the scope set of the token the last header() sent (the one to drop if refused)
        self._used: tuple[str, ...] | None = None
        #: what the last header() produced: None, "basic", "cached" or "fresh" (token)
        self._sent: str | None = None

    def credential(self) -> Credential | None:
        if not self._credential_loaded:
            self._credential = self._credential_source()
            self._credential_loaded = True
            if self._credential:
                log.debug(
                    "using the credential for %s from %s", self.registry, self._credential.source
                )
        return self._credential

    def header(self, scopes: Sequence[str]) -> str | None:
        """The Authorization header to send for ``scopes``, if auth is known to be needed."""
        key = tuple(sorted(scopes))
        self._sent = self._used = None
        cached = next(
            (k for k in (key, *self._tokens) if k in self._tokens and covers(k, key)), None
        )
        if cached is not None:
            self._sent, self._used = "cached", cached
            return "Bearer " + self._tokens[cached]
        if self._bearer is not None:
            token = self._fetch_token(key)
            self._sent, self._used = "fresh", key
            return "Bearer " + token
        if self._basic:
            cred = self.credential()
            if cred:
                self._sent = "basic"
                return basic_header(cred)
        return None

    def challenged(self, response: Response, scopes: Sequence[str]) -> None:
        """Learn from a 401; raise AuthError if nothing more can be tried.

        A cached token that is refused (expired) is fetched again once; a token fetched for
        this very request, or Basic credentials, that are refused end the attempt.
        """
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        key = tuple(sorted(scopes))
        sent, self._sent = self._sent, None
        if challenge is None:
            raise AuthError(
                f"{self.registry} refused the request (401) without a challenge",
                hint=login_hint(self.registry),
            )
        if challenge.scheme == "basic":
            if sent == "basic" or self.credential() is None:
                raise self._refused()
            self._basic = True
        elif challenge.scheme == "bearer":
            self._tokens.pop(key, None)
            if self._used is not None:
                self._tokens.pop(self._used, None)
            if sent == "fresh":
                raise self._refused(
                    insufficient="insufficient_scope" in challenge.params.get("error", "")
                )
            self._bearer = challenge
        else:
            raise AuthError(
                f"{self.registry} asks for unsupported auth scheme {challenge.scheme!r}",
                hint="wasmkit speaks Basic and Bearer token auth",
            )

    def _refused(self, insufficient: bool = False) -> AuthError:
        cred = self.credential()
        if cred is None:
            return AuthError(
                f"{self.registry} requires authentication", hint=login_hint(self.registry)
            )
        if insufficient:
            return AuthError(
                f"the credential for {self.registry} is not allowed to do this",
                hint="ask for access to the repository, or log in as a user who has it",
            )
        if self._withheld:
            return AuthError(
                f"{self.registry} refused an anonymous token from {self._withheld}",
                hint=f"the token server {self._withheld} is not on {self.registry}'s domain, so "
                "wasmkit did not send it your credential; fix the registry's token realm",
            )
        return AuthError(
            f"{self.registry} rejected the credential for user {cred.username!r}",
            hint=login_hint(self.registry),
        )

    def _fetch_token(self, key: tuple[str, ...]) -> str:
        assert self._bearer is not None
        realm = self._bearer.params.get("realm", "")
        where = origin(realm)
        if where is None:
            raise AuthError(
                f"{self.registry} sent a token realm that is not an http(s) URL: {realm[:200]!r}",
                hint="the registry's token auth is misconfigured",
            )
        assert self._origin is not None
        if self._origin[0] == "https" and where[0] != "https":
            raise AuthError(
                f"{self.registry} speaks https but sent a plain HTTP token realm {realm[:200]}",
                hint="wasmkit never sends credentials or asks for tokens in clear text; "
                "the registry's token realm must be an https URL",
            )
        params: list[tuple[str, str]] = []
        if self._bearer.params.get("service"):
            params.append(("service", self._bearer.params["service"]))
        params.extend(("scope", s) for s in key)
        cred = self.credential()
        if cred and not realm_gets_credential(where, self._origin):
            log.info(
                "asking the token realm %s anonymously: the credential for %s is not sent "
                "to another domain",
                realm,
                self.registry,
            )
            self._withheld, cred = realm, None
        else:
            log.info("asking the token realm %s for %s", realm, " ".join(key) or "(no scope)")
        headers = {}
        if cred and cred.is_identity_token:
            data = {
                "grant_type": "refresh_token",
                "refresh_token": cred.secret,
                "client_id": "wasmkit",
            }
            data.update(params)
            response = self._send("POST", realm, form=data)
        else:
            if cred:
                headers["Authorization"] = basic_header(cred)
            response = self._send("GET", realm, params=params, headers=headers)
        with response:
            if response.status_code in (401, 403):
                raise self._refused()
            if response.status_code != 200:
                raise AuthError(
                    f"the token server {realm} answered {response.status_code}",
                    hint="check the registry's auth service",
                )
            answer = read_body(response, timeout=self._timeout)
        try:
            body = load_json(answer, "the token", max_bytes=MAX_BODY)
            token = str(body.get("token") or body["access_token"])
        except (InputFileError, AttributeError, KeyError, TypeError):
            raise AuthError(
                f"the token server {realm} sent no token", hint="check the registry's auth service"
            ) from None
        if not _TOKEN.fullmatch(token):
            raise AuthError(
                f"the token server {realm} sent a token that is not a bearer token "
                "(RFC 6750 allows letters, digits and -._~+/ only)",
                hint="check the registry's auth service; wasmkit does not send it on",
            )
        log.debug("got a token for %s scopes %s", self.registry, " ".join(key) or "(none)")
        self._tokens[key] = token
        return token
