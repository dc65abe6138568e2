"""The embedding cache the configuration asks for: Redis (single, Cluster or Sentinel, by the
cache URL) or, without a URL, the in-process LRU."""

from __future__ import annotations

from gateway.cache.backend import CacheBackend
from gateway.cache.memory_cache import MemoryCache
from gateway.cache.redis_cache import RedisCache
from gateway.config import GatewayConfig


def make_cache(config: GatewayConfig) -> CacheBackend:
    if config.redis_url:
        return RedisCache(
            config.redis_url,
            config.redis_password,
            config.cache_ttl_seconds,
            timeout_seconds=config.redis_timeout_seconds,
            sentinel_password=config.redis_sentinel_password,
        )
    return MemoryCache(config.cache_memory_entries, config.cache_ttl_seconds)
