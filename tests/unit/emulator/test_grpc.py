"""gRPC calls in the emulator: made on the root context and answered there, as in Envoy."""

from __future__ import annotations

from wasmkit.codes import BufferType, Status
from wasmkit.emulator.grpc import GrpcCall, GrpcCallResponse

from .conftest import OUT, Host

#: Callbacks that write (context id, token, size or status) to 100..108, and during a close
#: proxy_get_status's code to 112 and message pointer/size to 116/120.
RECORDING = """
  (func (export "proxy_on_grpc_receive") (param i32 i32 i32)
    (i32.store (i32.const 100) (local.get 0)) (i32.store (i32.const 104) (local.get 1))
    (i32.store (i32.const 108) (local.get 2))
    (drop (call $proxy_get_buffer_bytes (i32.const 5) (i32.const 0) (local.get 2)
                                         (i32.const 116) (i32.const 120))))
  (func (export "proxy_on_grpc_close") (param i32 i32 i32)
    (i32.store (i32.const 100) (local.get 0)) (i32.store (i32.const 104) (local.get 1))
    (i32.store (i32.const 108) (local.get 2))
    (drop (call $proxy_get_status (i32.const 112) (i32.const 116) (i32.const 120))))
"""


def make_call(host: Host, cluster: str = "authz", message: bytes = b"ping") -> int:
    args = [*host.put(cluster), *host.put("pkg.Svc"), *host.put("Do"), 0, 0, *host.put(message)]
    return host.call("proxy_grpc_call", *args, 500, OUT)


def answering(response: GrpcCallResponse, calls: list[GrpcCall]) -> Host:
    def responder(call: GrpcCall) -> GrpcCallResponse | None:
        calls.append(call)
        return response if call.cluster == "authz" else None

    return Host(RECORDING, grpc_responder=responder)


def test_an_answer_arrives_on_the_root_context_after_the_callback() -> None:
    calls: list[GrpcCall] = []
    host = answering(GrpcCallResponse(message=b"pong!"), calls)
    assert make_call(host) == Status.OK
    token = host.u32(OUT)
    assert token % 2 == 1  # Envoy's call tokens are odd (streams get even ones)
    assert host.u32(100) == 0  # nothing delivered while the stream's callback runs
    (call,) = calls
    assert (call.cluster, call.service, call.method, call.message) == (
        "authz",
        "pkg.Svc",
        "Do",
        b"ping",
    )
    assert call.context_id == host.vm.root.id and call.timeout_ms == 500
    host.vm.drain()
    assert (host.u32(100), host.u32(104), host.u32(108)) == (host.vm.root.id, token, 5)
    assert host.given(116, 120) == b"pong!"
    # The receive buffer exists only while the answer is delivered.
    status = host.call("proxy_get_buffer_bytes", BufferType.GRPC_RECEIVE_BUFFER, 0, 5, OUT, OUT + 4)
    assert status == Status.NOT_FOUND


def test_a_failure_closes_the_call_with_envoys_status_message() -> None:
    host = answering(GrpcCallResponse(status=7, status_message="not you"), [])
    assert make_call(host) == Status.OK
    host.vm.drain()
    assert (host.u32(100), host.u32(108), host.u32(112)) == (host.vm.root.id, 7, 7)
    assert host.given(116, 120) == b"not you{via_upstream}"
    # Outside a close the status is Ok again.
    assert host.call("proxy_get_status", OUT + 8, OUT, OUT + 4) == 0 and host.u32(OUT + 8) == 0


def test_an_unknown_cluster_is_a_parse_failure_and_gets_no_token() -> None:
    host = answering(GrpcCallResponse(), [])
    host.vm.guest.write(OUT, b"\xff\xff\xff\xff")
    assert make_call(host, cluster="nowhere") == Status.PARSE_FAILURE
    assert host.u32(OUT) == 0xFFFFFFFF and not host.vm.grpc.pending


def test_cancel_and_close_drop_a_pending_call() -> None:
    host = answering(GrpcCallResponse(message=b"x"), [])
    for hostcall in ("proxy_grpc_cancel", "proxy_grpc_close"):
        assert make_call(host) == Status.OK
        token = host.u32(OUT)
        assert host.call(hostcall, token) == Status.OK
        assert host.call(hostcall, token) == Status.NOT_FOUND
        host.vm.drain()
        assert host.u32(100) == 0  # no callback for a cancelled call
    assert len(host.vm.grpc.calls) == 2


#: Stream callbacks: each counts its calls at 200 + 4 * k and checks its context is the root
#: (a wrong one traps); the metadata callbacks copy x-meta of their map to 240/244.
STREAM = """
  (func $count (param $slot i32) (param $ctx i32)
    (if (i32.ne (local.get $ctx) (i32.const 1)) (then unreachable))
    (i32.store (local.get $slot) (i32.add (i32.load (local.get $slot)) (i32.const 1))))
  (func (export "proxy_on_grpc_receive_initial_metadata") (param i32 i32 i32)
    (call $count (i32.const 200) (local.get 0))
    (i32.store (i32.const 220) (local.get 2)))
  (func (export "proxy_on_grpc_receive") (param i32 i32 i32)
    (call $count (i32.const 204) (local.get 0)))
  (func (export "proxy_on_grpc_receive_trailing_metadata") (param i32 i32 i32)
    (call $count (i32.const 208) (local.get 0))
    (drop (call $proxy_get_header_map_value (i32.const 5) (i32.const 300) (i32.const 6)
                                            (i32.const 240) (i32.const 244))))
  (func (export "proxy_on_grpc_close") (param i32 i32 i32)
    (call $count (i32.const 212) (local.get 0))
    (i32.store (i32.const 216) (local.get 2)))
  (data (i32.const 300) "x-meta")
"""


def stream_host(response: GrpcCallResponse) -> Host:
    return Host(STREAM, grpc_responder=lambda call: response)


def open_stream(host: Host) -> int:
    args = [*host.put("authz"), *host.put("pkg.Svc"), *host.put("Watch"), 0, 0]
    assert host.call("proxy_grpc_stream", *args, OUT) == Status.OK
    return host.u32(OUT)


def counts(host: Host) -> list[int]:
    return [host.u32(200 + 4 * k) for k in range(4)]


def test_a_stream_is_answered_once_its_side_ended_with_every_callback() -> None:
    reply = GrpcCallResponse(message=b"m", trailing_metadata=(("x-meta", "last"),))
    host = stream_host(reply)
    token = open_stream(host)
    assert token % 2 == 0  # streams get even tokens
    assert host.call("proxy_grpc_send", token, *host.put("a"), 0) == Status.OK
    host.vm.drain()
    assert counts(host) == [0, 0, 0, 0]  # the service answers once the stream's side ended
    assert host.call("proxy_grpc_send", token, *host.put("b"), 1) == Status.OK
    host.vm.drain()
    assert counts(host) == [1, 1, 1, 1] and host.u32(216) == 0
    assert host.u32(220) == 4  # :status, content-type, grpc-accept-encoding, service time
    assert host.given(240, 244) == b"last"
    assert host.vm.grpc.calls[-1].message == b"ab" and not host.vm.grpc.streams
    assert host.call("proxy_grpc_send", token, *host.put("c"), 1) == Status.NOT_FOUND


def test_a_failed_stream_has_no_initial_metadata_nor_message() -> None:
    host = stream_host(GrpcCallResponse(status=5, status_message="gone"))
    token = open_stream(host)
    assert host.call("proxy_grpc_close", token) == Status.OK  # ends the sending side
    host.vm.drain()
    assert counts(host) == [1, 0, 1, 1] and host.u32(220) == 0 and host.u32(216) == 5


def test_a_cancelled_stream_gets_no_callback() -> None:
    host = stream_host(GrpcCallResponse(message=b"m"))
    token = open_stream(host)
    assert host.call("proxy_grpc_send", token, *host.put("a"), 1) == Status.OK
    assert host.call("proxy_grpc_cancel", token) == Status.OK
    host.vm.drain()
    assert counts(host) == [0, 0, 0, 0]
