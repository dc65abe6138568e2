"""Real local Redis deployments for the cache tests (loadtests/soak/redis_local.py starts them)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loadtests.soak.redis_local import RedisClusterLocal, RedisSentinelLocal

DATA_PASSWORD = "data-secret"
SENTINEL_PASSWORD = "sentinel-secret"


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterLocal]:
    """3 masters + 3 replicas, cluster-node-timeout 1 s."""
    with RedisClusterLocal(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisSentinelLocal]:
    """A master, a replica and 3 sentinels; data nodes and sentinels each need a password."""
    with RedisSentinelLocal(
        tmp_path_factory.mktemp("sentinel"),
        password=DATA_PASSWORD,
        sentinel_password=SENTINEL_PASSWORD,
    ) as group:
        yield group
