"""redis-py asyncio clients for the three deployments a cache URL can name.

- single server: `Redis.from_url` (the URL is redis-py's own form);
- Redis Cluster: `RedisCluster`, seeded by the URL's nodes; it keeps the slot map current by
  itself (MOVED replies, and a fresh map after a connection error, e.g. a failed-over master);
- Sentinel: a client whose connections go to the master the sentinels currently name; after a
  failover, new connections follow the new master.

Every client fails fast (the given socket and connect timeouts, no retry on timeout): the cache
is an optimisation, and its caller turns a failure into a miss.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.retry import Retry

from gateway.cache.redis_url import RedisKind, RedisTarget


def connect(
    target: RedisTarget,
    password: str | None,
    timeout_seconds: float,
    sentinel_password: str | None = None,
) -> Any:
    """A client for `target`; `password` (when given) wins over the URL's own."""
    password = password or target.password
    common: dict[str, Any] = {
        "socket_timeout": timeout_seconds,
        "socket_connect_timeout": timeout_seconds,
    }
    if target.kind is RedisKind.SINGLE:
        return aioredis.Redis.from_url(
            target.url, password=password, retry_on_timeout=False, **common
        )
    auth = {"username": target.username, "password": password}
    if target.kind is RedisKind.CLUSTER:
        return RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            # a cache serves the slots it still has while others fail over
            require_full_coverage=False,
            # one quick retry after refreshing the slot map (a failed-over master), not three
            retry=Retry(NoBackoff(), 1),
            ssl=target.tls,
            **auth,
            **common,
        )
    sentinel = Sentinel(
        list(target.nodes),
        sentinel_kwargs={"password": sentinel_password or None, "ssl": target.tls, **common},
        ssl=target.tls,
        **common,
    )
    return sentinel.master_for(
        target.master_name, db=target.db, retry=Retry(NoBackoff(), 0), **auth
    )


async def close(client: Any) -> None:
    """Close a client from `connect`, with a Sentinel client's connections to the sentinels."""
    await client.aclose()
    manager = getattr(getattr(client, "connection_pool", None), "sentinel_manager", None)
    for sentinel in getattr(manager, "sentinels", ()):
        await sentinel.aclose()
