"""Long UpsertItems streams under the bounds every gateway stream has (the same ones as
EmbedStream): per-item deadlines and no whole-stream deadline, an idle timeout, the per-caller
stream cap. The gateway runs in process on a real gRPC port with a real Milvus Lite file; the
Triton pool's call is the scripted stand-in of the gateway tests (the real path is in
test_cat_gateway.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from gateway.api.auth import hash_key
from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc

from ..gateway.gw_support import INFO, ScriptedBackend, image_bytes, running_gateway


class Feed:
    """The request side of a client stream that the test drives item by item."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    async def requests(self) -> AsyncIterator:
        while (item := await self.queue.get()) is not None:
            yield item


def _serve_scripted_model(gateway, monkeypatch) -> ScriptedBackend:
    backend = ScriptedBackend()
    monkeypatch.setattr(type(gateway.pool), "model_info", property(lambda self: INFO))
    monkeypatch.setattr(gateway.pool, "infer", backend.infer)
    return backend


def _item(item_id: str, seed: int) -> pb.UpsertItemsRequest:
    return pb.UpsertItemsRequest(item_id=item_id, image=pb.ImageRef(data=image_bytes(seed)))


def _bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


@pytest.fixture
def catalogue_settings(tmp_path) -> dict:
    return {"catalogue_uri": str(tmp_path / "catalogue.db"), "catalogue_index": "FLAT"}


async def test_an_idle_upsert_stream_ends(catalogue_settings) -> None:
    """A client that opens UpsertItems and sends nothing does not hold its slot for ever."""
    async with (
        running_gateway(stream_idle_timeout_seconds=0.5, **catalogue_settings) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        call = pb_grpc.FashionSimilarityStub(channel).UpsertItems(Feed().requests())
        with pytest.raises(grpc.aio.AioRpcError) as ended:
            await asyncio.wait_for(call.read(), 20)
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert "idle" in ended.value.details()


async def test_an_upsert_stream_idle_after_items_ends_and_keeps_what_it_stored(
    catalogue_settings, monkeypatch
) -> None:
    async with (
        running_gateway(stream_idle_timeout_seconds=1.0, **catalogue_settings) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        _serve_scripted_model(gateway, monkeypatch)
        stub = pb_grpc.FashionSimilarityStub(channel)
        feed = Feed()
        call = stub.UpsertItems(feed.requests())
        await feed.queue.put(_item("first", 1))
        first = await asyncio.wait_for(call.read(), 60)
        assert first.item_id == "first" and first.WhichOneof("outcome") != "error"
        with pytest.raises(grpc.aio.AioRpcError) as ended:  # then the client goes quiet
            await asyncio.wait_for(call.read(), 20)
        assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        found = await stub.SearchItems(
            pb.SearchItemsRequest(item_id="first", attributes=["collar"], top_k=1)
        )
        assert [h.item_id for h in found.results[0].results] == ["first"]


async def test_a_busy_upsert_stream_is_not_idle(catalogue_settings, monkeypatch) -> None:
    """Items that take longer than the idle timeout keep the stream alive."""
    async with (
        running_gateway(stream_idle_timeout_seconds=2.0, **catalogue_settings) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        backend = _serve_scripted_model(gateway, monkeypatch)
        backend.delay = 4.0  # longer than the idle timeout; the answer-to-close gap is far shorter
        feed = Feed()
        call = pb_grpc.FashionSimilarityStub(channel).UpsertItems(feed.requests())
        await feed.queue.put(_item("slow", 2))
        result = await asyncio.wait_for(call.read(), 60)
        assert result.item_id == "slow" and result.WhichOneof("outcome") != "error"
        await feed.queue.put(None)
        assert await asyncio.wait_for(call.read(), 20) == grpc.aio.EOF


async def test_items_have_their_own_deadline_and_the_stream_none(
    catalogue_settings, monkeypatch
) -> None:
    """Each item gets ASEN_CATALOGUE_ITEM_TIMEOUT_SECONDS from when it is read; a stream that
    lasts longer than that (and many times the default call deadline) is not cut. Margins are
    wide (an item's own work is a Milvus Lite write, seconds at most on a loaded machine; the
    slow item would take 60 s)."""
    settings = {
        **catalogue_settings,
        "catalogue_item_timeout_seconds": 6.0,
        "request_timeout_seconds": 0.5,
        "stream_idle_timeout_seconds": 30.0,
    }
    async with (
        running_gateway(**settings) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        backend = _serve_scripted_model(gateway, monkeypatch)
        stub = pb_grpc.FashionSimilarityStub(channel)
        warm = [r async for r in stub.UpsertItems(iter([_item("warm-up", 99)]))]
        assert warm[0].WhichOneof("outcome") == "result"  # the collection exists now

        async def requests() -> AsyncIterator[pb.UpsertItemsRequest]:
            for i in range(8):
                await asyncio.sleep(1.0)  # 8 s in all, the per-item timeout is 6 s
                backend.delay = 60.0 if i == 4 else 0.0  # item 4 alone runs past its deadline
                yield _item(f"item-{i}", i)

        results = [r async for r in stub.UpsertItems(requests())]
    codes = [r.error.code if r.WhichOneof("outcome") == "error" else "" for r in results]
    assert [r.item_id for r in results] == [f"item-{i}" for i in range(8)]
    assert codes == [""] * 4 + ["DEADLINE_EXCEEDED"] + [""] * 3


async def test_upsert_streams_count_against_the_per_caller_cap(tmp_path, catalogue_settings):
    keys = tmp_path / "keys"
    keys.write_text(f"{hash_key('key-a')} a\n{hash_key('key-b')} b\n")
    settings = {
        **catalogue_settings,
        "api_keys_file": str(keys),
        "max_streams": 4,
        "max_streams_per_caller": 2,
        "stream_idle_timeout_seconds": 30.0,
    }
    async with (
        running_gateway(**settings) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        stub = pb_grpc.FashionSimilarityStub(channel)
        feeds = [Feed() for _ in range(4)]
        held = [
            stub.UpsertItems(feeds[0].requests(), metadata=_bearer("key-a")),
            stub.EmbedStream(feeds[1].requests(), metadata=_bearer("key-a")),
        ]
        await asyncio.sleep(0.5)  # both admitted and waiting for requests
        third = stub.UpsertItems(feeds[2].requests(), metadata=_bearer("key-a"))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await asyncio.wait_for(third.read(), 20)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "streams already open for this caller" in refused.value.details()
        other = stub.UpsertItems(feeds[3].requests(), metadata=_bearer("key-b"))
        await asyncio.sleep(0.3)
        for feed in feeds:
            await feed.queue.put(None)
        for call in [*held[:1], other]:
            assert await asyncio.wait_for(call.read(), 20) == grpc.aio.EOF
        held[1].cancel()


async def test_the_engine_going_down_mid_stream_and_coming_back(tmp_path, monkeypatch) -> None:
    """Items written before the engine went down are stored; items while it is down are
    UNAVAILABLE (never reported stored); the stream goes on, and once the engine is back the
    same gateway writes and searches again without a restart."""
    from .conftest import MilvusLiteServer

    engine = MilvusLiteServer(tmp_path / "milvus")
    engine.start()
    settings = {
        "catalogue_uri": engine.uri,
        "catalogue_index": "FLAT",
        "catalogue_vector_type": "float32",
        "catalogue_timeout_seconds": 3.0,
        "catalogue_item_timeout_seconds": 10.0,
        "stream_idle_timeout_seconds": 60.0,
    }
    try:
        async with (
            running_gateway(**settings) as gateway,
            grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
        ):
            _serve_scripted_model(gateway, monkeypatch)
            stub = pb_grpc.FashionSimilarityStub(channel)
            feed = Feed()
            call = stub.UpsertItems(feed.requests())
            await feed.queue.put(_item("before", 1))
            first = await asyncio.wait_for(call.read(), 60)
            assert first.WhichOneof("outcome") == "result"
            engine.stop()
            await feed.queue.put(_item("during", 2))
            second = await asyncio.wait_for(call.read(), 60)
            assert second.item_id == "during" and second.error.code in (
                "UNAVAILABLE",
                "DEADLINE_EXCEEDED",
            )
            engine.start()
            third = None
            for attempt in range(30):  # the client reconnects by itself
                await feed.queue.put(_item(f"after-{attempt}", 3))
                third = await asyncio.wait_for(call.read(), 60)
                if third.WhichOneof("outcome") == "result":
                    break
                await asyncio.sleep(1)
            assert third is not None and third.WhichOneof("outcome") == "result", third
            await feed.queue.put(None)
            assert await asyncio.wait_for(call.read(), 20) == grpc.aio.EOF
            request = pb.SearchItemsRequest(
                image=pb.ImageRef(data=image_bytes(1)), attributes=["collar"], top_k=10
            )
            found = await stub.SearchItems(request)
            ids = {h.item_id for h in found.results[0].results}
            assert "before" in ids and third.item_id in ids and "during" not in ids
    finally:
        engine.stop()
