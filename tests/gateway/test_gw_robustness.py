"""Breaking the running gateway on purpose (issue: robustness defects), each reproduced first:
idle streams, per-caller stream caps, stream metrics, error-log floods, half-open and idle
connections, connection ageing. The gateway runs in process on a real gRPC port; where a model
is needed, the Triton pool's call is a scripted stand-in (the real path is in
test_gw_integration.py)."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import AsyncIterator

import grpc
import pytest

from gateway.api.auth import hash_key
from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc

from .gw_support import (
    INFO,
    ScriptedBackend,
    client_ports,
    grpc_code,
    image_bytes,
    running_gateway,
    sample,
)


def _serve_scripted_model(gateway, monkeypatch) -> ScriptedBackend:
    backend = ScriptedBackend()
    monkeypatch.setattr(type(gateway.pool), "model_info", property(lambda self: INFO))
    monkeypatch.setattr(gateway.pool, "infer", backend.infer)
    return backend


class Feed:
    """The request side of a client stream that the test drives item by item."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    async def requests(self) -> AsyncIterator[pb.EmbedRequest]:
        while (item := await self.queue.get()) is not None:
            yield item


def _bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def test_idle_streams_neither_lock_out_unary_calls_nor_other_callers(tmp_path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(f"{hash_key('key-a')} a\n{hash_key('key-b')} b\n")
    settings = {
        "api_keys_file": str(keys),
        "max_in_flight": 2,
        "max_streams": 3,
        "max_streams_per_caller": 2,
        "stream_idle_timeout_seconds": 1.0,
    }
    async with (
        running_gateway(**settings) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        stub = pb_grpc.FashionSimilarityStub(channel)
        idle = [stub.EmbedStream(Feed().requests(), metadata=_bearer("key-a")) for _ in range(2)]
        await asyncio.sleep(0.3)  # both admitted and waiting for requests
        third = stub.EmbedStream(Feed().requests(), metadata=_bearer("key-a"))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await third.read()
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "streams already open for this caller" in refused.value.details()
        # streams have their own budget: unary calls still get through admission (no Triton
        # behind this gateway, so they end UNAVAILABLE, not RESOURCE_EXHAUSTED)
        for _ in range(3):
            unary = stub.ListAttributes(pb.ListAttributesRequest(), metadata=_bearer("key-a"))
            assert await grpc_code(unary) == grpc.StatusCode.UNAVAILABLE
        other = stub.EmbedStream(Feed().requests(), metadata=_bearer("key-b"))
        await asyncio.sleep(0.2)
        # the idle streams end by themselves
        for call in [*idle, other]:
            with pytest.raises(grpc.aio.AioRpcError) as ended:
                await asyncio.wait_for(call.read(), 10)
            assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            assert "idle" in ended.value.details()


async def test_a_busy_stream_is_not_idle(monkeypatch) -> None:
    async with running_gateway(stream_idle_timeout_seconds=2.0) as gateway:
        backend = _serve_scripted_model(gateway, monkeypatch)
        backend.delay = 4.0  # longer than the idle timeout; the answer-to-close gap is far shorter
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
            feed = Feed()
            call = pb_grpc.FashionSimilarityStub(channel).EmbedStream(feed.requests())
            await feed.queue.put(pb.EmbedRequest(image=pb.ImageRef(data=image_bytes(1))))
            first = await call.read()
            assert first.WhichOneof("outcome") == "result"
            await feed.queue.put(None)
            assert await call.read() == grpc.aio.EOF


async def test_streams_have_their_own_duration_and_per_item_outcomes(monkeypatch) -> None:
    stream_count = sample("asen_gateway_stream_duration_seconds_count", method="EmbedStream")
    unary_count = sample("asen_gateway_request_duration_seconds_count", method="EmbedStream")
    ok = sample("asen_gateway_stream_items_total", method="EmbedStream", code="OK")
    bad = sample("asen_gateway_stream_items_total", method="EmbedStream", code="INVALID_ARGUMENT")
    async with running_gateway() as gateway:
        _serve_scripted_model(gateway, monkeypatch)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:

            async def requests() -> AsyncIterator[pb.EmbedRequest]:
                for data in (image_bytes(1), b"not an image", image_bytes(2)):
                    yield pb.EmbedRequest(image=pb.ImageRef(data=data))

            items = [
                i async for i in pb_grpc.FashionSimilarityStub(channel).EmbedStream(requests())
            ]
    assert [i.WhichOneof("outcome") for i in items] == ["result", "error", "result"]
    assert sample("asen_gateway_stream_duration_seconds_count", method="EmbedStream") == (
        stream_count + 1
    )
    assert sample("asen_gateway_request_duration_seconds_count", method="EmbedStream") == (
        unary_count
    )
    assert sample("asen_gateway_stream_items_total", method="EmbedStream", code="OK") == ok + 2
    assert (
        sample("asen_gateway_stream_items_total", method="EmbedStream", code="INVALID_ARGUMENT")
        == bad + 1
    )


async def test_failed_calls_are_counted_exactly_but_logged_sparingly(caplog) -> None:
    calls = 300
    before = sample("asen_gateway_requests_total", method="ListAttributes", code="UNAVAILABLE")
    caplog.set_level(logging.INFO, logger="gateway.access")
    async with (
        running_gateway(error_log_per_second=5) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        stub = pb_grpc.FashionSimilarityStub(channel)
        codes = await asyncio.gather(
            *(grpc_code(stub.ListAttributes(pb.ListAttributesRequest())) for _ in range(calls))
        )
    assert set(codes) == {grpc.StatusCode.UNAVAILABLE}
    after = sample("asen_gateway_requests_total", method="ListAttributes", code="UNAVAILABLE")
    assert after - before == calls
    lines = [r for r in caplog.records if r.name == "gateway.access"]
    assert 1 <= len(lines) <= 20  # a burst of 5, then 5 a second for however long it took
    assert sum(getattr(r, "suppressed", 0) for r in lines) + len(lines) <= calls


def _closed_by_peer(sock: socket.socket, within: float) -> bool:
    """True if the server closes the connection within `within` seconds (reading what it sent)."""
    sock.settimeout(within)
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            if sock.recv(4096) == b"":
                return True
    except (TimeoutError, ConnectionResetError):
        return False
    return False


async def test_silent_and_surplus_connections_are_closed() -> None:
    async with running_gateway(handshake_timeout_seconds=0.5, max_connections=3) as gateway:
        sockets = [socket.create_connection(("127.0.0.1", gateway.port)) for _ in range(5)]
        try:
            closed = await asyncio.to_thread(
                lambda: [_closed_by_peer(s, within=5) for s in sockets]
            )
        finally:
            for s in sockets:
                s.close()
        assert all(closed)  # surplus ones at once, the rest after the handshake timeout
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
            stub = pb_grpc.FashionSimilarityStub(channel)
            code = await grpc_code(stub.ListAttributes(pb.ListAttributesRequest(), timeout=5))
            assert code == grpc.StatusCode.UNAVAILABLE  # served (no Triton behind it)


async def test_connections_age_out_so_clients_reconnect() -> None:
    """With a maximum connection age a long-lived client opens new connections (reaching new
    pods behind a Service) instead of keeping the first one for ever."""
    async with running_gateway(
        max_connection_age_seconds=0.5, max_connection_age_grace_seconds=0.5
    ) as gateway:
        seen: set[int] = set()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
            stub = pb_grpc.FashionSimilarityStub(channel)
            stop = time.monotonic() + 3
            while time.monotonic() < stop:
                await grpc_code(stub.ListAttributes(pb.ListAttributesRequest(), timeout=5))
                seen |= client_ports(gateway.port)
                await asyncio.sleep(0.05)
        assert len(seen) >= 2


async def test_metrics_port_survives_half_open_requests() -> None:
    async with running_gateway(metrics_port=0) as gateway:
        url = f"http://127.0.0.1:{gateway.metrics_port}/metrics"
        threads = threading.active_count()
        sockets = []
        for _ in range(100):
            s = socket.create_connection(("127.0.0.1", gateway.metrics_port))
            s.sendall(b"GET /metr")  # never finished
            sockets.append(s)
        try:
            await asyncio.sleep(0.5)
            assert threading.active_count() <= threads + 2  # no thread per connection
            body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=10).read())
            assert b"asen_gateway_requests_total" in body
            async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
                await channel.channel_ready()
                assert sample("asen_gateway_open_connections") >= 1
        finally:
            for s in sockets:
                s.close()
