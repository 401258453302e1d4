"""The test file model: what it accepts, and every refusal with its field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasmkit._validation import load_model, validate
from wasmkit.errors import InputFileError
from wasmkit.filter import FailurePolicy
from wasmkit.testspec import Suite


def problems(data: object) -> list[str]:
    with pytest.raises(InputFileError) as info:
        validate(Suite, data, "tests.yaml")
    assert info.value.exit_code == 2
    return info.value.problems


def ok(data: object) -> Suite:
    return validate(Suite, data, "tests.yaml")


def case(**kwargs: object) -> dict[str, object]:
    return {"name": "c", "expect": {"status": 200}, **kwargs}


def test_full_example_is_accepted() -> None:
    suite = ok(
        {
            "rootId": "add_header",
            "config": "world",
            "failurePolicy": "FAIL_OPEN",
            "cases": [
                {
                    "name": "adds",
                    "config": {"a": 1},
                    "request": {
                        "method": "post",
                        "path": "/x",
                        "headers": {"X-Foo": "bar"},
                        "body": "hi",
                    },
                    "upstream": {"status": 201, "headers": {"a": "b"}, "body": "ok"},
                    "expect": {
                        "status": 200,
                        "headers": {"hello": "tomorrow", "x-gone": None, "x-re": {"regex": "^to"}},
                        "upstreamHeaders": {"x-stamp": "tomorrow"},
                        "body": {"contains": "ok"},
                    },
                }
            ],
        }
    )
    assert suite.failure_policy is FailurePolicy.FAIL_OPEN
    only = suite.cases[0]
    assert only.request.method == "POST"
    assert only.request.headers == {"x-foo": "bar"}  # names are case-insensitive
    assert only.expect.headers is not None
    assert only.expect.headers["x-gone"] is None
    assert (
        only.expect.headers["hello"] is not None
        and only.expect.headers["hello"].equals == "tomorrow"
    )
    assert only.expect.body is not None and only.expect.body.contains == "ok"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"cases": []}, "cases: List should have at least 1 item"),
        ({}, "cases: Field required"),
        ({"cases": [case(bogus=1)]}, "cases[0].bogus: unknown key"),
        ({"cases": [case()], "extra": 1}, "extra: unknown key"),
        (
            {"cases": [{"name": "c", "expect": {"status": "x"}}]},
            "cases[0].expect.status: Input should be a valid integer",
        ),
        (
            {"cases": [{"name": "c", "expect": {"status": 99}}]},
            "cases[0].expect.status: Input should be greater than or equal to 100",
        ),
        ({"cases": [{"name": "c", "expect": {}}]}, "cases[0].expect: expect needs at least one of"),
        ({"cases": [{"name": "c"}]}, "cases[0].expect: Field required"),
        ({"cases": [case(), case()]}, "two cases are named 'c'"),
        ({"cases": [case(name="")]}, "cases[0].name: String should have at least 1 character"),
        (
            {"failurePolicy": "FAIL_SOMETIMES", "cases": [case()]},
            "failurePolicy: Input should be 'FAIL_CLOSED', 'FAIL_OPEN' or 'FAIL_RELOAD'",
        ),
        (
            {"cases": [case(request={"path": "no-slash"})]},
            "cases[0].request.path: must start with /",
        ),
        (
            {"cases": [case(request={"method": "GE T"})]},
            "cases[0].request.method: not a valid HTTP method",
        ),
        (
            {"cases": [case(request={"headers": {"bad name": "x"}})]},
            "cases[0].request.headers: 'bad name' is not a valid header name",
        ),
        (
            {"cases": [case(request={"headers": {"x": "a\r\nb"}})]},
            "cases[0].request.headers: header 'x' has a line break",
        ),
        (
            {"cases": [case(upstream={"status": 700})]},
            "cases[0].upstream.status: Input should be less than or equal to 599",
        ),
        (
            {"cases": [{"name": "c", "expect": {"headers": {"a": {"regex": "("}}}}]},
            "cases[0].expect.headers.a.regex: not a valid regular expression",
        ),
        (
            {"cases": [{"name": "c", "expect": {"headers": {"a": 3}}}]},
            "cases[0].expect.headers.a: give a string, null, or a mapping",
        ),
        (
            {
                "cases": [
                    {"name": "c", "expect": {"headers": {"a": {"regex": "x", "contains": "y"}}}}
                ]
            },
            "cases[0].expect.headers.a: give exactly one of",
        ),
        (
            {"cases": [{"name": "c", "expect": {"body": {"regx": "x"}}}]},
            "cases[0].expect.body.regx: unknown key",
        ),
        ({"config": 42, "cases": [case()]}, "config: Input should be a valid"),
    ],
)
def test_refusals_name_the_field(data: object, expected: str) -> None:
    found = problems(data)
    assert any(p.startswith(expected) or expected in p for p in found), found


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("cases:\n  - name: a\n    expect: {status: 200\n")
    with pytest.raises(InputFileError) as info:
        load_model(path, Suite)
    assert "line 4" in info.value.problems[0] or "line 3" in info.value.problems[0]


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        load_model(tmp_path / "nope.yaml", Suite)
    assert info.value.problems == ["(file): does not exist"]


def test_message_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("cases:\n  - name: a\n    expect: {status: x}\n    bogus: 1\n")
    with pytest.raises(InputFileError) as info:
        load_model(path, Suite)
    text = str(info.value)
    assert str(path) in text
    assert "cases[0].expect.status" in text and "cases[0].bogus: unknown key" in text


def test_grpc_calls_answer_declared_grpc_clusters() -> None:
    suite = ok(
        {
            "grpcClusters": ["authz"],
            "cases": [
                case(grpcCalls=[{"cluster": "authz", "message": "yes"}]),
                case(
                    name="d", grpcCalls=[{"cluster": "authz", "status": 7, "statusMessage": "no"}]
                ),
            ],
        }
    )
    assert suite.grpc_clusters == ["authz"]
    first, second = (c.grpc_calls for c in suite.cases)
    assert first is not None and (first[0].status, first[0].message) == (0, "yes")
    assert second is not None and (second[0].status, second[0].status_message) == (7, "no")


def test_grpc_calls_refusals() -> None:
    undeclared = problems({"cases": [case(grpcCalls=[{"cluster": "authz"}])]})
    assert any("grpcClusters does not declare" in p for p in undeclared)
    both = problems({"clusters": ["a"], "grpcClusters": ["a"], "cases": [case()]})
    assert any("in both clusters and grpcClusters" in p for p in both)
    mixed = {
        "grpcClusters": ["a"],
        "cases": [case(grpcCalls=[{"cluster": "a", "statusMessage": "x"}])],
    }
    assert any("statusMessage belongs to a failed call" in p for p in problems(mixed))
    failed_with_message = [{"cluster": "a", "status": 2, "message": "x"}]
    assert any(
        "has no message" in p
        for p in problems({"grpcClusters": ["a"], "cases": [case(grpcCalls=failed_with_message)]})
    )
    assert any(
        "status" in p
        for p in problems(
            {"grpcClusters": ["a"], "cases": [case(grpcCalls=[{"cluster": "a", "status": 17}])]}
        )
    )


def test_route_metadata_is_namespaces_of_string_keys() -> None:
    suite = ok({"routeMetadata": {"wasmkit": {"tenant": "acme"}}, "cases": [case()]})
    assert suite.route_metadata == {"wasmkit": {"tenant": "acme"}}
    assert problems({"routeMetadata": {"wasmkit": {"n": [1]}}, "cases": [case()]})


def test_grpc_metadata_is_header_like_and_initial_metadata_needs_a_reply() -> None:
    suite = ok(
        {
            "grpcClusters": ["a"],
            "cases": [case(grpcCalls=[{"cluster": "a", "initialMetadata": {"X-Meta": "v"}}])],
        }
    )
    calls = suite.cases[0].grpc_calls
    assert calls is not None and calls[0].initial_metadata == {"x-meta": "v"}
    failed = [{"cluster": "a", "status": 5, "initialMetadata": {"x": "v"}}]
    assert any(
        "no message or initialMetadata" in p
        for p in problems({"grpcClusters": ["a"], "cases": [case(grpcCalls=failed)]})
    )
    bad_name = [{"cluster": "a", "trailingMetadata": {"bad name": "v"}}]
    assert problems({"grpcClusters": ["a"], "cases": [case(grpcCalls=bad_name)]})


def test_property_overrides_need_dotted_paths() -> None:
    suite = ok({"cases": [case(properties={"source.port": 5000, "my.flag": True, "x": "y"})]})
    assert suite.cases[0].properties == {"source.port": 5000, "my.flag": True, "x": "y"}
    for path in ("", "a..b", ".a", "a."):
        assert any(
            "not a property path" in p for p in problems({"cases": [case(properties={path: "v"})]})
        )
