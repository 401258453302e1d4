from __future__ import annotations

import pytest

from wasmkit.errors import InvalidReference
from wasmkit.oci._digest import Digest
from wasmkit.oci.reference import Reference, parse, parse_registry

DIGEST = Digest("sha256:" + "ab" * 32)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("add-header", Reference("docker.io", "library/add-header", "latest")),
        ("me/add-header:v1", Reference("docker.io", "me/add-header", "v1")),
        ("localhost/f:v1", Reference("localhost", "f", "v1")),
        ("localhost:5000/a/b/c:1.0_x", Reference("localhost:5000", "a/b/c", "1.0_x")),
        ("ghcr.io/o/f@" + DIGEST, Reference("ghcr.io", "o/f", None, DIGEST)),
        ("ghcr.io/o/f:v2@" + DIGEST, Reference("ghcr.io", "o/f", "v2", DIGEST)),
        ("Registry.Example.com:443/o/f", Reference("Registry.Example.com:443", "o/f", "latest")),
        ("127.0.0.1:5000/a__b.c-d:v", Reference("127.0.0.1:5000", "a__b.c-d", "v")),
    ],
)
def test_parse(text: str, expected: Reference) -> None:
    assert parse(text) == expected


def test_str_and_api_reference() -> None:
    ref = parse("ghcr.io/o/f:v2@" + DIGEST)
    assert str(ref) == "ghcr.io/o/f:v2@" + DIGEST
    assert ref.reference == DIGEST
    assert parse("ghcr.io/o/f:v2").reference == "v2"
    assert parse("ghcr.io/o/f", default_tag=False).tag is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("a b", "white space"),
        ("localhost:5000/Filters/x:v1", "lowercase"),
        ("MyFilter", "lowercase"),
        ("localhost:5000/f:v1@sha256:xyz", "not a digest"),
        ("localhost:5000/f:-bad", "not a valid tag"),
        ("localhost:5000/f:" + "x" * 129, "not a valid tag"),
        ("localhost:5000/f--", "not a valid repository"),
        ("localhost:5000/a//b", "not a valid repository"),
        ("bad_host.io:x/f", "registry host"),
        ("-bad.io/f", "registry host"),
    ],
)
def test_invalid_references_say_why_and_how(text: str, why: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse(text)
    assert why in caught.value.message
    assert caught.value.hint
    assert caught.value.exit_code == 2


def test_uppercase_hint_gives_the_lowercase_name() -> None:
    with pytest.raises(InvalidReference) as caught:
        parse("localhost:5000/Team/Filter:V1")
    assert caught.value.hint == "use 'localhost:5000/team/filter:V1'"


def test_parse_registry() -> None:
    assert parse_registry("https://ghcr.io/v2/") == "ghcr.io"
    assert parse_registry("localhost:5000") == "localhost:5000"
    assert parse_registry("index.docker.io") == "docker.io"
    with pytest.raises(Exception, match="not a registry"):
        parse_registry("not a host")
