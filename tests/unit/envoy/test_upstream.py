"""The harness upstream: echo, canned replies, chunked bodies, requests kept apart by id."""

from __future__ import annotations

import http.client
import json

import pytest

from wasmkit.envoy.upstream import CannedReply, EchoUpstream


def request(
    port: int, headers: dict[str, str], body: bytes | None = None, chunked: bool = False
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.putrequest("POST", "/p?q=1", skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        if chunked:
            conn.putheader("transfer-encoding", "chunked")
            conn.endheaders()
            for piece in (body or b"").split(b"|"):
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            conn.send(b"0\r\n\r\n")
        else:
            conn.putheader("content-length", str(len(body or b"")))
            conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_echo_and_canned_replies() -> None:
    with EchoUpstream() as upstream:
        with upstream.exchange(None) as arrived:
            status, body = request(upstream.port, {"X-One": "1"}, b"hello")
        assert status == 200
        echoed = json.loads(body)
        assert (
            echoed["path"] == "/p?q=1"
            and echoed["headers"]["x-one"] == "1"
            and echoed["body"] == "hello"
        )
        assert [r.body for r in arrived] == [b"hello"]
        with upstream.exchange(CannedReply(418, (("x-tea", "yes"),), b"teapot")):
            assert request(upstream.port, {}, b"") == (418, b"teapot")


def test_chunked_request_bodies_are_read_whole() -> None:
    with EchoUpstream() as upstream, upstream.exchange(None) as arrived:
        status, body = request(upstream.port, {}, b"abc|defgh|", chunked=True)
    assert status == 200 and json.loads(body)["body"] == "abcdefgh"
    assert arrived[0].body == b"abcdefgh"


def test_a_request_with_another_id_is_not_this_cases() -> None:
    with EchoUpstream() as upstream:
        with upstream.exchange(None, request_id="case-2") as arrived:
            request(upstream.port, {"x-request-id": "case-1"}, b"late")
            request(upstream.port, {"x-request-id": "case-2"}, b"mine")
        assert [r.body for r in arrived] == [b"mine"]


def test_a_cluster_upstream_answers_in_turn_then_with_its_fallback() -> None:
    import urllib.request

    from wasmkit.envoy.upstream import CannedReply, EchoUpstream

    def status(port: int) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/check", timeout=5) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    with EchoUpstream() as server:
        server.answer_in_turn(
            [CannedReply(200, (), b"alice"), CannedReply(401)], then=CannedReply(503, (), b"none")
        )
        assert [status(server.port) for _ in range(3)] == [
            (200, b"alice"),
            (401, b""),
            (503, b"none"),
        ]


def test_a_reset_by_envoy_is_not_reported_as_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with EchoUpstream() as upstream:
        server = upstream._server
        for error in (BrokenPipeError(32, "Broken pipe"), ValueError("a real bug")):
            try:
                raise error
            except Exception:
                server.handle_error(None, ("127.0.0.1", 1))
    err = capsys.readouterr().err
    assert "Broken pipe" not in err
    assert "a real bug" in err
