"""In-process single-flight: concurrent misses of the same cache key cost one Triton call.

The first request to miss a key claims it and must later `resolve` or `fail` it; requests that
miss the same key meanwhile get a future to await instead of computing it again.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def claim(self, keys: list[str]) -> tuple[list[str], dict[str, asyncio.Future[T]]]:
        """Split keys into those this caller now owns and futures for those in flight elsewhere."""
        owned: list[str] = []
        waiting: dict[str, asyncio.Future[T]] = {}
        loop = asyncio.get_running_loop()
        for key in dict.fromkeys(keys):
            future = self._pending.get(key)
            if future is None:
                self._pending[key] = loop.create_future()
                owned.append(key)
            else:
                waiting[key] = future
        return owned, waiting

    def resolve(self, key: str, value: T) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_result(value)

    def fail(self, key: str, error: BaseException) -> None:
        future = self._pending.pop(key, None)
        if future is not None and not future.done():
            future.set_exception(error)
            future.exception()  # mark retrieved: nobody may be waiting
