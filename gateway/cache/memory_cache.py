"""In-process LRU embedding cache with a TTL: the default when no Redis is configured."""

from __future__ import annotations

import time
from collections import OrderedDict


class MemoryCache:
    """Bounded LRU of key -> (expiry, value); single event loop, so no locking is needed."""

    name = "memory"

    def __init__(self, max_entries: int, ttl_seconds: float) -> None:
        self._max_entries = max(1, max_entries)
        self._ttl = ttl_seconds
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        now = time.monotonic()
        values: list[bytes | None] = []
        for key in keys:
            entry = self._entries.get(key)
            if entry is None:
                values.append(None)
            elif entry[0] <= now:
                del self._entries[key]
                values.append(None)
            else:
                self._entries.move_to_end(key)
                values.append(entry[1])
        return values

    async def set_many(self, items: dict[str, bytes]) -> bool:
        expiry = time.monotonic() + self._ttl if self._ttl > 0 else float("inf")
        for key, value in items.items():
            self._entries[key] = (expiry, value)
            self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
        return True

    async def close(self) -> None:
        self._entries.clear()
