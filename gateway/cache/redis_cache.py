"""Redis embedding cache (redis.asyncio) that fails open.

Reads are one MGET, writes one pipeline of SET EX. Any Redis error or timeout counts in
asen_gateway_cache_errors_total and turns into a miss (reads) or a skipped write; the incident is
logged once, not per request. After a failure Redis is left alone for `retry_after` seconds so a
dead or hanging Redis does not add its timeout to every request; then the next call probes it
again, and caching resumes by itself when it answers.
"""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gateway import metrics

log = logging.getLogger(__name__)


class RedisCache:
    name = "redis"

    def __init__(
        self,
        url: str,
        password: str | None,
        ttl_seconds: int,
        timeout_seconds: float = 0.25,
        retry_after: float = 1.0,
    ) -> None:
        self._client = aioredis.Redis.from_url(
            url,
            password=password or None,
            socket_timeout=timeout_seconds,
            socket_connect_timeout=timeout_seconds,
            retry_on_timeout=False,
        )
        self._ttl = ttl_seconds
        self._timeout = timeout_seconds
        self._retry_after = retry_after
        self._down_until = 0.0
        self._failing = False

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys or self._skipping():
            return [None] * len(keys)
        try:
            values = await asyncio.wait_for(self._client.mget(keys), 2 * self._timeout)
        except (RedisError, OSError, TimeoutError) as error:
            self._failed("read", error)
            return [None] * len(keys)
        self._recovered()
        return list(values)

    async def set_many(self, items: dict[str, bytes]) -> None:
        if not items or self._skipping():
            return
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(key, value, ex=self._ttl if self._ttl > 0 else None)
                await asyncio.wait_for(pipe.execute(), 2 * self._timeout)
        except (RedisError, OSError, TimeoutError) as error:
            self._failed("write", error)
            return
        self._recovered()

    async def ping(self) -> bool:
        try:
            return bool(await asyncio.wait_for(self._client.ping(), 2 * self._timeout))
        except (RedisError, OSError, TimeoutError):
            return False

    async def close(self) -> None:
        await self._client.aclose()

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
