"""What the harness's canned upstreams answer a case: each declared cluster's HTTP replies
and each declared gRPC service's answers, in the case's order, then the 'no answer left' one
(the emulator's CaseReplies and CaseGrpcReplies answer the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from wasmkit.envoy.upstream import CannedReply
from wasmkit.testing.plan import (
    NO_ANSWER_BODY,
    NO_ANSWER_STATUS,
    NO_GRPC_ANSWER_STATUS,
)
from wasmkit.testspec import Case

if TYPE_CHECKING:
    from wasmkit.envoy.grpc_upstream import GrpcAnswer, GrpcUpstream


def cluster_replies(case: Case, cluster: str) -> tuple[list[CannedReply], CannedReply]:
    """The case's replies for ``cluster``'s canned HTTP upstream, and what follows them."""
    replies = [
        CannedReply(r.status, tuple(r.headers.items()), r.body.encode())
        for r in case.http_calls or ()
        if r.cluster == cluster
    ]
    return replies, CannedReply(NO_ANSWER_STATUS, (), NO_ANSWER_BODY)


def grpc_upstream() -> GrpcUpstream:
    # grpcio (about 50 ms to import) only for suites that declare gRPC clusters.
    from wasmkit.envoy.grpc_upstream import GrpcUpstream

    return GrpcUpstream()


def grpc_answers(case: Case, cluster: str) -> tuple[list[GrpcAnswer], GrpcAnswer]:
    """The case's answers for ``cluster``'s canned gRPC upstream, and what follows them."""
    from wasmkit.envoy.grpc_upstream import GrpcAnswer

    answers = [
        GrpcAnswer(
            r.status,
            r.message.encode(),
            r.status_message,
            tuple(r.initial_metadata.items()),
            tuple(r.trailing_metadata.items()),
        )
        for r in case.grpc_calls or ()
        if r.cluster == cluster
    ]
    return answers, GrpcAnswer(NO_GRPC_ANSWER_STATUS, b"", NO_ANSWER_BODY.decode())
