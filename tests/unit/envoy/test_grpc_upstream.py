"""The harness's canned gRPC upstream, called by a real gRPC client over HTTP/2."""

from __future__ import annotations

import grpc
import pytest

from wasmkit.envoy.grpc_upstream import GrpcAnswer, GrpcUpstream


def test_answers_in_turn_then_the_fallback_and_records_calls() -> None:
    with GrpcUpstream() as server, grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        call = channel.unary_unary("/pkg.Svc/Do")
        server.answer_in_turn(
            [GrpcAnswer(message=b"\x00raw"), GrpcAnswer(7, status_message="not you")],
            then=GrpcAnswer(14, status_message="none left"),
        )
        assert call(b"one", metadata=(("x-k", "v"),), timeout=5) == b"\x00raw"
        for code, details in (
            (grpc.StatusCode.PERMISSION_DENIED, "not you"),
            (grpc.StatusCode.UNAVAILABLE, "none left"),
        ):
            with pytest.raises(grpc.RpcError) as info:
                call(b"two", timeout=5)
            assert (info.value.code(), info.value.details()) == (code, details)
        first = server.received[0]
        assert (first.method, first.message) == ("/pkg.Svc/Do", b"one")
        assert ("x-k", "v") in first.metadata and len(server.received) == 3
