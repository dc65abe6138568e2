"""The embedding cache on a real Redis Cluster (3 masters + 3 replicas, started by the fixture):
batched reads and writes across hash slots in one round trip per node, TTLs, and a master
killed under load: never an error, caching back on every slot after the failover."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from redis.asyncio.cluster import ClusterNode

from gateway import metrics
from gateway.cache.redis_cache import RedisCache
from loadtests.soak.redis_local import client

from .load import TIMEOUT, steady_load


def _errors() -> float:
    return metrics.CACHE_ERRORS.labels(backend="redis")._value.get()


def _keys(prefix: str, n: int) -> dict[str, bytes]:
    return {f"asen:{prefix}:collar:{i:064x}": f"value-{i}".encode() for i in range(n)}


async def test_values_spread_over_every_master_and_round_trip_with_ttl(redis_cluster) -> None:
    cache = RedisCache(redis_cluster.url, None, ttl_seconds=120, timeout_seconds=TIMEOUT)
    items = _keys("spread", 200)
    try:
        await cache.set_many(items)
        wanted = [*items, "asen:spread:collar:missing"]
        assert await cache.get_many(wanted) == [*items.values(), None]
    finally:
        await cache.close()
    for master in redis_cluster.masters():
        with client(master.port) as node:
            assert node.dbsize() > 20  # every master holds part of the keys
    cluster = redis.RedisCluster(host="127.0.0.1", port=redis_cluster.nodes[0].port)
    try:
        assert 0 < cluster.ttl(next(iter(items))) <= 120
    finally:
        cluster.close()


async def test_a_batch_costs_one_round_trip_per_node_not_per_key(
    redis_cluster, monkeypatch
) -> None:
    calls: list[str] = []
    original = ClusterNode.execute_pipeline

    async def counting(self, commands):
        calls.append(self.name)
        return await original(self, commands)

    monkeypatch.setattr(ClusterNode, "execute_pipeline", counting)
    cache = RedisCache(redis_cluster.url, None, ttl_seconds=60, timeout_seconds=TIMEOUT)
    items = _keys("trips", 300)
    try:
        await cache.set_many(items)
        assert sorted(calls) == sorted(set(calls)) and len(calls) == 3
        calls.clear()
        assert await cache.get_many(list(items)) == list(items.values())
        assert sorted(calls) == sorted(set(calls)) and len(calls) == 3
    finally:
        await cache.close()


async def test_unreachable_cluster_is_a_miss_not_an_error() -> None:
    cache = RedisCache("redis+cluster://127.0.0.1:1,127.0.0.1:2", None, ttl_seconds=10)
    try:
        assert await cache.get_many(["a", "b"]) == [None, None]
        await cache.set_many({"a": b"1"})
        assert not await cache.ping()
    finally:
        await cache.close()


async def test_master_killed_under_load_never_fails_and_every_slot_caches_again(
    redis_cluster,
) -> None:
    cache = RedisCache(
        redis_cluster.url, None, ttl_seconds=60, timeout_seconds=TIMEOUT, retry_after=0.2
    )
    await cache.set_many(_keys("warm", 10))
    errors = _errors()
    victim = redis_cluster.masters()[0]
    try:
        load = asyncio.ensure_future(steady_load(cache, seconds=12))
        await asyncio.sleep(1.5)
        killed_at = time.monotonic()
        redis_cluster.kill(victim)
        record = await load
    finally:
        await cache.close()
    assert record.exceptions == [] and record.wrong_values == 0
    assert _errors() > errors  # the outage was seen (and counted), not hidden
    assert record.caching_resumed(after=killed_at), "caching did not come back on every slot"
    assert len(redis_cluster.masters()) == 3  # a replica took over the killed master's slots
    # the killed node comes back as a replica, and the cluster is whole again
    redis_cluster.restart(victim)
    redis_cluster.wait_healthy()
    assert redis_cluster.role(victim) == "slave"


@pytest.mark.parametrize("dtype", ["float32", "float16"])
async def test_gateway_cache_values_of_both_dtypes_survive_the_cluster(
    redis_cluster, dtype
) -> None:
    import numpy as np

    from gateway.cache.entry import CachedEmbedding

    vector = np.linspace(-2, 2, 128, dtype=np.float32)
    value = CachedEmbedding(vector, (1.0, 2.0, 3.0, 4.0)).encode(dtype)
    cache = RedisCache(redis_cluster.url, None, ttl_seconds=60, timeout_seconds=TIMEOUT)
    try:
        await cache.set_many({f"asen:v:{dtype}:k": value})
        (stored,) = await cache.get_many([f"asen:v:{dtype}:k"])
    finally:
        await cache.close()
    assert stored == value
    np.testing.assert_allclose(CachedEmbedding.decode(stored).embedding, vector, rtol=1e-3)
