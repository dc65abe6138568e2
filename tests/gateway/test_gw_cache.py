"""Embedding cache pieces: value codec, in-process LRU, single-flight."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from gateway.cache.entry import CachedEmbedding, cache_key
from gateway.cache.memory_cache import MemoryCache
from gateway.cache.single_flight import SingleFlight


def test_key_format_is_the_contract() -> None:
    assert cache_key("v1", "collar_design", "ab" * 32) == f"asen:v1:collar_design:{'ab' * 32}"


def test_value_round_trips_embedding_and_roi() -> None:
    vector = np.linspace(-1, 1, 37, dtype=np.float32)
    entry = CachedEmbedding(vector, (1.5, 2.0, 30.25, 40.0))
    decoded = CachedEmbedding.decode(entry.encode())
    np.testing.assert_array_equal(decoded.embedding, vector)
    assert decoded.roi == (1.5, 2.0, 30.25, 40.0)
    assert len(entry.encode()) == 8 + 4 * (37 + 4)


@pytest.mark.parametrize("value", [b"", b"junk", b"AE\x01\x00\x05\x00\x00\x00" + b"\x00" * 8])
def test_malformed_value_is_rejected(value: bytes) -> None:
    with pytest.raises(ValueError):
        CachedEmbedding.decode(value)


async def test_memory_cache_evicts_least_recently_used() -> None:
    cache = MemoryCache(max_entries=2, ttl_seconds=60)
    await cache.set_many({"a": b"1", "b": b"2"})
    assert await cache.get_many(["a"]) == [b"1"]  # a is now the most recent
    await cache.set_many({"c": b"3"})
    assert await cache.get_many(["a", "b", "c"]) == [b"1", None, b"3"]


async def test_memory_cache_expires_entries() -> None:
    cache = MemoryCache(max_entries=10, ttl_seconds=0.05)
    await cache.set_many({"a": b"1"})
    await asyncio.sleep(0.1)
    assert await cache.get_many(["a"]) == [None]
    assert len(cache) == 0


async def test_single_flight_hands_one_owner_the_key_and_others_a_future() -> None:
    flights: SingleFlight[int] = SingleFlight()
    owned, waiting = flights.claim(["k1", "k2", "k1"])
    assert owned == ["k1", "k2"] and waiting == {}
    owned2, waiting2 = flights.claim(["k2", "k3"])
    assert owned2 == ["k3"] and set(waiting2) == {"k2"}
    flights.resolve("k2", 42)
    assert await waiting2["k2"] == 42
    flights.fail("k1", RuntimeError("boom"))
    flights.resolve("k3", 3)
    assert len(flights) == 0
    owned3, _ = flights.claim(["k2"])  # a finished key can be claimed again
    assert owned3 == ["k2"]
