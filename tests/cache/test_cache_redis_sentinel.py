"""The embedding cache through real Redis Sentinel (a master, a replica, 3 sentinels, with
passwords on both the data nodes and the sentinels): it finds the master, uses the URL's
database, follows a failover under load without an error, and fails open on a wrong password."""

from __future__ import annotations

import asyncio
import time

import redis

from gateway.cache.redis_cache import RedisCache

from .conftest import DATA_PASSWORD, SENTINEL_PASSWORD
from .load import TIMEOUT, steady_load


def _cache(group, **kwargs) -> RedisCache:
    url = group.url.rsplit("/", 1)[0] + "/3"  # database 3
    return RedisCache(
        url,
        DATA_PASSWORD,
        ttl_seconds=60,
        timeout_seconds=TIMEOUT,
        sentinel_password=SENTINEL_PASSWORD,
        **kwargs,
    )


async def test_values_go_to_the_master_the_sentinels_name(redis_sentinel) -> None:
    cache = _cache(redis_sentinel)
    try:
        await cache.set_many({"asen:s:a:1": b"one", "asen:s:a:2": b"two"})
        assert await cache.get_many(["asen:s:a:2", "asen:s:a:0", "asen:s:a:1"]) == [
            b"two",
            None,
            b"one",
        ]
    finally:
        await cache.close()
    master = redis.Redis(port=redis_sentinel.master().port, password=DATA_PASSWORD, db=3)
    try:
        assert master.get("asen:s:a:1") == b"one" and 0 < master.ttl("asen:s:a:1") <= 60
    finally:
        master.close()


async def test_wrong_sentinel_password_is_a_miss_not_an_error(redis_sentinel) -> None:
    cache = RedisCache(redis_sentinel.url, DATA_PASSWORD, ttl_seconds=60, sentinel_password="wrong")
    try:
        await cache.set_many({"asen:s:b:1": b"x"})
        assert await cache.get_many(["asen:s:b:1"]) == [None]
    finally:
        await cache.close()


async def test_master_killed_under_load_never_fails_and_caching_follows_the_new_master(
    redis_sentinel,
) -> None:
    cache = _cache(redis_sentinel, retry_after=0.2)
    old = redis_sentinel.master()
    try:
        load = asyncio.ensure_future(steady_load(cache, seconds=10))
        await asyncio.sleep(1.5)
        killed_at = time.monotonic()
        old.kill()
        record = await load
    finally:
        await cache.close()
    assert record.exceptions == [] and record.wrong_values == 0
    assert record.caching_resumed(after=killed_at), "caching did not follow the new master"
    redis_sentinel.wait_healthy()
    assert redis_sentinel.master() is not old
