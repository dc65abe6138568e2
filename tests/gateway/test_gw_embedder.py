"""The embedder's own logic with a scripted stand-in for the Triton pool (unit level: the real
tritonserver path is covered by test_gw_integration.py): single-flight, one row per image with
all its attributes, batching, and pinning a bad image down inside a batch."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from asen_contract.errors import DeadlineExceeded, InvalidInput, NotFound
from gateway.cache.entry import CachedEmbedding, cache_key
from gateway.cache.memory_cache import MemoryCache
from gateway.core.embedder import Embedder
from gateway.core.images import ImageInput

from .gw_support import INFO, image_bytes, sample
from .gw_support import ScriptedBackend as ScriptedPool


def _deadline() -> float:
    return time.monotonic() + 10


async def test_concurrent_misses_of_one_key_cost_one_call() -> None:
    pool = ScriptedPool(delay=0.05)
    embedder = Embedder(pool, MemoryCache(100, 60))
    image = ImageInput.from_bytes(image_bytes(1), "a")
    results = await asyncio.gather(
        *(embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline()) for _ in range(8))
    )
    assert len(pool.calls) == 1
    vectors = {r[0]["collar"].embedding.tobytes() for r in results}
    assert len(vectors) == 1
    assert sum(not r[0]["collar"].cached for r in results) == 1


async def test_several_attributes_of_an_image_are_one_row_and_then_cached() -> None:
    pool = ScriptedPool()
    embedder = Embedder(pool, MemoryCache(100, 60))
    image = ImageInput.from_bytes(image_bytes(2), "a")
    (first,) = await embedder.embed(INFO, [image], list(INFO.attributes), _deadline())
    assert pool.calls == [(1, [[0, 1]])]
    (again,) = await embedder.embed(INFO, [image], list(INFO.attributes), _deadline())
    assert len(pool.calls) == 1
    assert all(r.cached for r in again.values())
    np.testing.assert_array_equal(first["sleeve"].embedding, again["sleeve"].embedding)
    # by reference once cached
    ref = ImageInput.from_sha256(image.sha256, "a")
    (by_ref,) = await embedder.embed(INFO, [ref], [INFO.attributes[1]], _deadline())
    np.testing.assert_array_equal(by_ref["sleeve"].embedding, first["sleeve"].embedding)


async def test_rows_are_chunked_to_the_max_batch_size() -> None:
    pool = ScriptedPool()
    embedder = Embedder(pool, MemoryCache(100, 60))
    images = [ImageInput.from_bytes(image_bytes(10 + i), f"candidate {i}") for i in range(5)]
    await embedder.embed(INFO, images, [INFO.attributes[0]], _deadline())
    assert sorted(size for size, _ in pool.calls) == [1, 2, 2]


async def test_a_bad_image_in_a_batch_is_named() -> None:
    bad = image_bytes(99)
    pool = ScriptedPool(reject=bad)
    embedder = Embedder(pool, MemoryCache(100, 60))
    images = [ImageInput.from_bytes(image_bytes(20), "candidate 0"),
              ImageInput.from_bytes(bad, "candidate 1")]  # fmt: skip
    with pytest.raises(InvalidInput, match="candidate 1: model: corrupt image"):
        await embedder.embed(INFO, images, [INFO.attributes[0]], _deadline())


async def test_unknown_sha256_is_not_found() -> None:
    embedder = Embedder(ScriptedPool(), MemoryCache(100, 60))
    ref = ImageInput.from_sha256("0" * 64, "query")
    with pytest.raises(NotFound, match="send the image bytes"):
        await embedder.embed(INFO, [ref], [INFO.attributes[0]], _deadline())


async def test_bytes_win_over_a_reference_to_the_same_image() -> None:
    pool = ScriptedPool()
    embedder = Embedder(pool, MemoryCache(100, 60))
    data = image_bytes(42)
    by_bytes = ImageInput.from_bytes(data, "query image")
    by_ref = ImageInput.from_sha256(by_bytes.sha256, "candidate 0")
    query, candidate = await embedder.embed(
        INFO, [by_ref, by_bytes], [INFO.attributes[0]], _deadline()
    )
    np.testing.assert_array_equal(query["collar"].embedding, candidate["collar"].embedding)
    assert len(pool.calls) == 1


async def test_a_hurried_caller_times_out_alone() -> None:
    """Two callers wait for the same image: the one with the short deadline gets
    DeadlineExceeded, the other still gets the result (the shared Triton call does not run
    under the first caller's deadline)."""
    pool = ScriptedPool(delay=0.5)
    embedder = Embedder(pool, MemoryCache(100, 60))
    image = ImageInput.from_bytes(image_bytes(7), "a")
    hurried = embedder.embed(INFO, [image], [INFO.attributes[0]], time.monotonic() + 0.1)
    patient = embedder.embed(INFO, [image], [INFO.attributes[0]], time.monotonic() + 10)
    first, second = await asyncio.gather(hurried, patient, return_exceptions=True)
    assert isinstance(first, DeadlineExceeded)
    assert not isinstance(second, BaseException) and "collar" in second[0]
    assert len(pool.calls) == 1


async def test_a_waiter_going_away_does_not_cancel_the_others() -> None:
    pool = ScriptedPool(delay=0.3)
    embedder = Embedder(pool, MemoryCache(100, 60))
    image = ImageInput.from_bytes(image_bytes(8), "a")
    owner = asyncio.ensure_future(embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline()))
    await asyncio.sleep(0.05)
    waiters = [
        asyncio.ensure_future(embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline()))
        for _ in range(2)
    ]
    await asyncio.sleep(0.05)
    waiters[0].cancel()
    results = await asyncio.gather(owner, waiters[1])
    assert all("collar" in r[0] for r in results)
    assert len(pool.calls) == 1


@pytest.mark.parametrize(
    "value",
    [
        CachedEmbedding(np.array([np.nan, 0, 0, 1], np.float32), (0, 0, 1, 1)).encode(),
        CachedEmbedding(np.ones(3, np.float32), (0, 0, 1, 1)).encode(),  # another model's length
        CachedEmbedding(np.ones(4, np.float32), (0, 0, float("inf"), 1)).encode(),
        b"AE\x01\x00garbage",
    ],
    ids=["nan", "wrong length", "infinite box", "malformed"],
)
async def test_a_bad_cached_value_is_a_counted_miss(value: bytes) -> None:
    pool = ScriptedPool()
    cache = MemoryCache(100, 60)
    embedder = Embedder(pool, cache)
    image = ImageInput.from_bytes(image_bytes(9), "a")
    key = cache_key(INFO.model_version, "collar", image.sha256)
    await cache.set_many({key: value})
    invalid = sample("asen_gateway_cache_invalid_entries_total", backend="memory")
    (result,) = await embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline())
    assert not result["collar"].cached and len(pool.calls) == 1
    assert np.isfinite(result["collar"].embedding).all() and result["collar"].embedding.size == 4
    assert sample("asen_gateway_cache_invalid_entries_total", backend="memory") == invalid + 1
    (again,) = await embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline())
    assert again["collar"].cached  # the bad value was overwritten
