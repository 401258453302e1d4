"""The test file: what to send through the filter and what clients and upstreams must see.

The same mapping is the ``tests`` key of ``wasmkit.yaml``. Everything is validated
here, once; the runner and the engines only ever see these frozen models.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator

from wasmkit._validation import Camel, ConfigValue, Strict
from wasmkit.codes import LOG_LEVELS
from wasmkit.filter import FailurePolicy


class Matcher(Strict):
    """One expectation on a value: exactly one of equals, regex, contains, present."""

    equals: str | None = None
    regex: str | None = None
    contains: str | None = None
    present: bool | None = None

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _exactly_one(self) -> Matcher:
        if len(self.model_fields_set) != 1:
            raise ValueError("give exactly one of equals, regex, contains, present")
        return self

    def describe(self) -> str:
        if self.equals is not None:
            return repr(self.equals)
        if self.regex is not None:
            return f"matching /{self.regex}/"
        if self.contains is not None:
            return f"containing {self.contains!r}"
        return "present" if self.present else "absent"


def _matcher(value: Any) -> Any:
    """Plain strings mean equality; null means absent (kept as None)."""
    return {"equals": value} if isinstance(value, str) else value


def _header_matchers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _matcher(v) if v is not None else None for k, v in value.items()}
    return value


#: Header expectations: name -> Matcher, or None (the header must be absent).
HeaderExpectations = Annotated[dict[str, Matcher | None] | None, BeforeValidator(_header_matchers)]
#: A body expectation: exact string, {contains}, {regex}.
BodyExpectation = Annotated[Matcher | None, BeforeValidator(_matcher)]

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def _check_header_names(headers: dict[str, Any]) -> dict[str, Any]:
    for name in headers:
        if not _TOKEN.match(name):
            raise ValueError(f"{name!r} is not a valid header name")
    return {name.lower(): value for name, value in headers.items()}


def _check_header_values(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if "\r" in value or "\n" in value:
            raise ValueError(f"header {name!r} has a line break in its value")
    return headers


class Request(Camel):
    method: str = "GET"
    path: str = "/"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        if not _TOKEN.match(value):
            raise ValueError("not a valid HTTP method")
        return value.upper()

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or any(c in value for c in " \r\n"):
            raise ValueError("must start with / and contain no spaces or line breaks")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_header_values(_check_header_names(value))


class Upstream(Camel):
    """A canned reply from the upstream (otherwise it echoes what it received as JSON)."""

    status: int = Field(200, ge=200, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_header_values(_check_header_names(value))


def _log_expectation(value: Any) -> Any:
    """A plain string means: some log line contains it."""
    return {"message": {"contains": value}} if isinstance(value, str) else value


class _LogExpectation(Camel):
    level: str | None = None
    message: BodyExpectation = None

    @field_validator("level")
    @classmethod
    def _level(cls, value: str | None) -> str | None:
        if value is not None and value not in LOG_LEVELS:
            raise ValueError("must be one of " + ", ".join(LOG_LEVELS))
        return value

    def describe(self) -> str:
        what = self.message.describe() if self.message is not None else "any message"
        level = self.level or "log"
        return f"{'an' if level[0] in 'aeiou' else 'a'} {level} line {what}"


LogExpectation = Annotated[_LogExpectation, BeforeValidator(_log_expectation)]


class Expect(Camel):
    status: int | None = Field(None, ge=100, le=599)
    headers: HeaderExpectations = None
    body: BodyExpectation = None
    upstream_headers: HeaderExpectations = None
    upstream_body: BodyExpectation = None
    #: True: the request must reach the upstream; False: the filter must answer it itself.
    reached_upstream: bool | None = None
    #: Each entry must match a log line the filter wrote during this case (both engines).
    logs: list[LogExpectation] | None = None
    #: Metric values after this case (counters and gauges; histograms: number of samples).
    metrics: dict[str, int] | None = None
    #: The proxy must refuse the module or this case's configuration, for this reason.
    load_error: BodyExpectation = None

    @field_validator("headers", "upstream_headers")
    @classmethod
    def _names(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else _check_header_names(value)

    @model_validator(mode="after")
    def _not_empty(self) -> Expect:
        if not self.model_fields_set:
            raise ValueError("expect needs at least one of " + ", ".join(_EXPECT_KEYS))
        if "load_error" in self.model_fields_set and len(self.model_fields_set) > 1:
            raise ValueError("loadError stands alone: a refused filter answers no request")
        return self


_EXPECT_KEYS = (
    "status",
    "headers",
    "body",
    "upstreamHeaders",
    "upstreamBody",
    "reachedUpstream",
    "logs",
    "metrics",
    "loadError",
)


class HttpCallReply(Camel):
    """A canned answer to the filter's ``proxy_http_call``: on both engines when ``cluster``
    is one the suite declares (``clusters``), else in the emulator only.

    Answers go out in order; with ``cluster`` set, only to calls to that cluster.
    ``timeout: true`` answers with a failed call (no headers, no body).
    """

    cluster: str | None = None
    status: int = Field(200, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    body: str = ""
    timeout: bool = False

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_header_values(_check_header_names(value))


class GrpcCallReply(Camel):
    """A canned answer to the filter's unary ``proxy_grpc_call`` to ``cluster`` (one of the
    suite's ``grpcClusters``), on both engines; answers go out in order.

    ``status`` 0 delivers ``message`` (proxy_on_grpc_receive); any other status fails the call
    (proxy_on_grpc_close) with ``statusMessage`` as its message (proxy_get_status). A stream
    (proxy_grpc_stream) also gets ``initialMetadata`` and ``trailingMetadata``.
    """

    cluster: str
    status: int = Field(0, ge=0, le=16)
    message: str = ""
    status_message: str = ""
    #: The service's metadata; Envoy hands it to a stream (proxy_grpc_stream), not to a call.
    initial_metadata: dict[str, str] = Field(default_factory=dict)
    trailing_metadata: dict[str, str] = Field(default_factory=dict)

    @field_validator("initial_metadata", "trailing_metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_header_values(_check_header_names(value))

    @model_validator(mode="after")
    def _one_outcome(self) -> GrpcCallReply:
        if self.status == 0 and self.status_message:
            raise ValueError("statusMessage belongs to a failed call (status 1-16)")
        if self.status != 0 and (self.message or self.initial_metadata):
            raise ValueError("a failed call (status 1-16) has no message or initialMetadata")
        return self


class Case(Camel):
    name: str = Field(min_length=1)
    config: ConfigValue | None = None
    root_id: str | None = None
    failure_policy: FailurePolicy | None = None
    request: Request = Field(default_factory=Request)
    upstream: Upstream | None = None
    #: Canned answers to the filter's outgoing HTTP calls (see HttpCallReply).
    http_calls: list[HttpCallReply] | None = None
    #: Canned answers to the filter's gRPC calls (see GrpcCallReply).
    grpc_calls: list[GrpcCallReply] | None = None
    #: Property values the filter reads (proxy_get_property) during this case, by dotted path
    #: ("source.address"), over the emulator's own; emulator-only (Envoy computes its own).
    properties: dict[str, str | int | bool] | None = None
    expect: Expect

    @field_validator("properties")
    @classmethod
    def _property_paths(
        cls, value: dict[str, str | int | bool] | None
    ) -> dict[str, str | int | bool] | None:
        for path in value or {}:
            if not path or any(not part for part in path.split(".")):
                raise ValueError(f"{path!r} is not a property path (dotted names, e.g. a.b)")
        return value


_CLUSTER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class Suite(Camel):
    root_id: str | None = None
    #: Clusters the filter may call (proxy_http_call), on both engines: the harness starts a
    #: canned upstream for each, answering with the case's ``httpCalls`` for it, in order.
    clusters: list[str] = Field(default_factory=list)
    #: gRPC services the filter may call (proxy_grpc_call), on both engines: an HTTP/2 cluster
    #: each, answered by a canned gRPC upstream with the case's ``grpcCalls`` for it, in order.
    grpc_clusters: list[str] = Field(default_factory=list)
    #: The route's metadata (Envoy: the route's ``metadata.filter_metadata``), namespace ->
    #: key -> string, on both engines; the filter reads it as ``xds.route_metadata``.
    route_metadata: dict[str, dict[str, str]] = Field(default_factory=dict)
    config: ConfigValue | None = None
    failure_policy: FailurePolicy = FailurePolicy.FAIL_CLOSED
    cases: list[Case] = Field(min_length=1)

    @field_validator("clusters", "grpc_clusters")
    @classmethod
    def _cluster_names(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _CLUSTER.match(name) or name == "upstream":
                raise ValueError(f"{name!r} is not a cluster name the harness can add")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Suite:
        seen: set[str] = set()
        for case in self.cases:
            if case.name in seen:
                raise ValueError(f"two cases are named {case.name!r}; names must be unique")
            seen.add(case.name)
        both = set(self.clusters) & set(self.grpc_clusters)
        if both:
            raise ValueError(f"{sorted(both)[0]!r} is in both clusters and grpcClusters")
        for case in self.cases:
            for reply in case.grpc_calls or ():
                if reply.cluster not in self.grpc_clusters:
                    raise ValueError(
                        f"case {case.name!r}: grpcCalls answer cluster {reply.cluster!r}, "
                        "which grpcClusters does not declare"
                    )
        return self
