"""A steady read/write load on a RedisCache, to run while a test breaks the deployment."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

from gateway.cache.redis_cache import RedisCache

# Redis call timeout of the tests: generous, because the machine running them may be busy and
# a timeout would be a miss; failing over is what the tests check, not the timeout itself.
TIMEOUT = 2.0


@dataclass
class LoadRecord:
    rounds: int = 0
    wrong_values: int = 0  # a value that is not the one written: must never happen
    exceptions: list[BaseException] = field(default_factory=list)  # must stay empty
    full_hits: list[float] = field(default_factory=list)  # times of rounds that read all back
    partial: list[float] = field(default_factory=list)  # times of rounds with a miss
    ended: float = 0.0

    def caching_resumed(self, after: float, settled_for: float = 2.0) -> bool:
        """Misses began after `after`, and for the last `settled_for` s every round hit."""
        return (
            not any(t < after for t in self.partial)
            and bool(self.full_hits)
            and all(t < self.ended - settled_for for t in self.partial)
            and any(t > after for t in self.full_hits)
        )


async def steady_load(cache: RedisCache, seconds: float, keys: int = 50) -> LoadRecord:
    """Write `keys` fresh keys and read them back, over and over, for `seconds`."""
    record = LoadRecord()
    counter = itertools.count()
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        n = next(counter)
        items = {f"asen:load:a:{n}:{i}": f"{n}:{i}".encode() for i in range(keys)}
        try:
            await cache.set_many(items)
            values = await cache.get_many(list(items))
        except BaseException as error:  # the cache must never raise
            record.exceptions.append(error)
            continue
        record.rounds += 1
        record.wrong_values += sum(
            1 for v, want in zip(values, items.values(), strict=True) if v not in (None, want)
        )
        (record.full_hits if None not in values else record.partial).append(time.monotonic())
        await asyncio.sleep(0.01)
    record.ended = time.monotonic()
    return record
