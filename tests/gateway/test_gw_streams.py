"""idle_bounded (gateway/core/streams.py): the idle bound of a long client stream, on plain
asyncio values. The clock is the event loop's; the periods are short but nothing is timed: each
test asserts what the stream yields or raises."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from asen_contract.errors import DeadlineExceeded
from gateway.core.streams import idle_bounded

IDLE = 0.2


async def _queued(queue: asyncio.Queue) -> AsyncIterator[str]:
    while (item := await queue.get()) is not None:
        yield item


async def test_a_quiet_stream_with_nothing_in_flight_ends() -> None:
    queue: asyncio.Queue = asyncio.Queue()
    with pytest.raises(DeadlineExceeded, match="idle"):
        async for _ in idle_bounded(_queued(queue), IDLE, lambda: False):
            pass


async def test_an_item_finishing_as_the_period_ends_leaves_the_client_a_whole_period() -> None:
    """In flight at the first check, finished by the second: the stream is not idle yet (the
    client only now has its answer), and the next request, sent within a period, is read."""
    queue: asyncio.Queue = asyncio.Queue()
    checks = iter([True])  # in flight at the first timeout, then never again

    async def client() -> None:
        await queue.put("first")
        await asyncio.sleep(2.5 * IDLE)  # after the second check, within a period of it
        await queue.put("second")
        await queue.put(None)

    sender = asyncio.create_task(client())
    received = [
        item async for item in idle_bounded(_queued(queue), IDLE, lambda: next(checks, False))
    ]
    await sender
    assert received == ["first", "second"]


async def test_no_bound_waits_for_the_client() -> None:
    queue: asyncio.Queue = asyncio.Queue()

    async def client() -> None:
        await asyncio.sleep(2 * IDLE)
        await queue.put("late")
        await queue.put(None)

    sender = asyncio.create_task(client())
    assert [item async for item in idle_bounded(_queued(queue), None, lambda: False)] == ["late"]
    await sender
