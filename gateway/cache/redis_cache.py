"""Redis embedding cache (redis.asyncio) that fails open, for one server, a Cluster or Sentinel.

Reads are one batched call: MGET on one server; on a Cluster, MGET per hash slot sent as one
pipeline per node, concurrently (one round trip per node, not per key). Writes are one pipeline
of SET EX (split per node on a Cluster the same way). The deployment is chosen by the cache URL
(see gateway/cache/redis_url.py).

Any Redis error or timeout counts in asen_gateway_cache_errors_total and turns into a miss
(reads) or a skipped write; the incident is logged once, not per request. After a failure Redis
is left alone for `retry_after` seconds so a dead or hanging Redis does not add its timeout to
every request; then the next call probes it again, and caching resumes by itself when it answers
(on a Cluster, with a slot map refreshed after the failure; under Sentinel, on the master the
sentinels name now).
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisClusterException, RedisError

from gateway import metrics
from gateway.cache.redis_connect import close, connect
from gateway.cache.redis_url import RedisKind, parse_redis_url

log = logging.getLogger(__name__)

_FAILURES = (RedisError, RedisClusterException, OSError, TimeoutError)


class RedisCache:
    name = "redis"

    def __init__(
        self,
        url: str,
        password: str | None,
        ttl_seconds: int,
        timeout_seconds: float = 0.25,
        retry_after: float = 1.0,
        sentinel_password: str | None = None,
    ) -> None:
        self.target = parse_redis_url(url)
        self._client = connect(self.target, password or None, timeout_seconds, sentinel_password)
        self._cluster = self.target.kind is RedisKind.CLUSTER
        self._ttl = ttl_seconds
        self._timeout = timeout_seconds
        self._retry_after = retry_after
        self._down_until = 0.0
        self._failing = False

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys or self._skipping():
            return [None] * len(keys)
        read = self._client.mget_nonatomic(keys) if self._cluster else self._client.mget(keys)
        try:
            values = await asyncio.wait_for(read, 2 * self._timeout)
        except _FAILURES as error:
            self._failed("read", error)
            return [None] * len(keys)
        self._recovered()
        return list(values)

    async def set_many(self, items: dict[str, bytes]) -> bool:
        if not items:
            return True
        if self._skipping():
            return False
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(key, value, ex=self._ttl if self._ttl > 0 else None)
                await asyncio.wait_for(pipe.execute(), 2 * self._timeout)
        except _FAILURES as error:
            self._failed("write", error)
            return False
        self._recovered()
        return True

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._client.ping(), 2 * self._timeout))
        except _FAILURES:
            return False

    async def close(self) -> None:
        await close(self._client)

    def _skipping(self) -> bool:
        return self._failing and time.monotonic() < self._down_until

    def _failed(self, operation: str, error: BaseException) -> None:
        metrics.CACHE_ERRORS.labels(backend=self.name).inc()
        self._down_until = time.monotonic() + self._retry_after
        if not self._failing:
            self._failing = True
            log.warning(
                "redis cache unavailable; computing without it",
                extra={"operation": operation, "error": repr(error)},
            )

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            log.warning("redis cache reachable again; caching resumed")
