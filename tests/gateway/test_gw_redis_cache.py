"""The Redis cache against a real redis-server: batched reads, TTL, and failing open."""

from __future__ import annotations

import asyncio

import redis

from gateway import metrics
from gateway.cache.redis_cache import RedisCache


def _errors() -> float:
    return metrics.CACHE_ERRORS.labels(backend="redis")._value.get()


async def test_values_round_trip_with_ttl(redis_server) -> None:
    cache = RedisCache(redis_server.url, None, ttl_seconds=120)
    try:
        await cache.set_many({"asen:t:a:1": b"\x00\x01", "asen:t:a:2": b"xyz"})
        assert await cache.get_many(["asen:t:a:1", "asen:t:a:missing", "asen:t:a:2"]) == [
            b"\x00\x01",
            None,
            b"xyz",
        ]
        ttl = redis.Redis.from_url(redis_server.url).ttl("asen:t:a:1")
        assert 0 < ttl <= 120
    finally:
        await cache.close()


async def test_redis_down_is_a_miss_and_comes_back(redis_server) -> None:
    cache = RedisCache(redis_server.url, None, ttl_seconds=120, retry_after=0.2)
    try:
        assert await cache.set_many({"asen:t:b:1": b"v"})  # stored
        redis_server.stop()
        before = _errors()
        assert await cache.get_many(["asen:t:b:1"]) == [None]
        assert not await cache.set_many({"asen:t:b:2": b"w"})  # skipped: says so, never raises
        assert _errors() > before
        redis_server.start()  # fresh, empty server on the same port
        await asyncio.sleep(0.3)  # past retry_after: the next call probes Redis again
        assert await cache.set_many({"asen:t:b:3": b"z"})
        assert await cache.get_many(["asen:t:b:3"]) == [b"z"]
    finally:
        await cache.close()


async def test_unreachable_redis_never_raises() -> None:
    cache = RedisCache("redis://127.0.0.1:1/0", None, ttl_seconds=10)
    try:
        assert await cache.get_many(["a", "b"]) == [None, None]
        await cache.set_many({"a": b"1"})
        assert not await cache.ping()
    finally:
        await cache.close()
