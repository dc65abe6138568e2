"""The interface every embedding-cache back-end implements (in-process LRU, Redis)."""

from __future__ import annotations

from typing import Protocol


class CacheBackend(Protocol):
    """Batched get/set of opaque values. Implementations never raise: a failure is a miss."""

    name: str

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        """One value (or None) per key, in order."""
        ...

    async def set_many(self, items: dict[str, bytes]) -> bool:
        """Store values with the configured TTL; False when they were not stored (a failure
        or a skipped write: the cache fails open)."""
        ...

    async def close(self) -> None: ...
