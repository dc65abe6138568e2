"""Reading the request side of a long client stream (EmbedStream, UpsertItems).

A stream has no overall deadline (each item gets its own), so a client that opens one and goes
quiet would hold its stream slot for ever. `idle_bounded` reads the requests and ends the stream
with DeadlineExceeded when nothing arrives for `idle_timeout` seconds while nothing of the stream
is in flight; a slow item in flight keeps the stream alive however long it takes, and once it
has finished the client gets at least a whole `idle_timeout` to send the next request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import TypeVar

from asen_contract.errors import DeadlineExceeded

T = TypeVar("T")


async def idle_bounded(
    requests: AsyncIterable[T], idle_timeout: float | None, in_flight: Callable[[], bool]
) -> AsyncIterator[T]:
    """The requests, in order; DeadlineExceeded once the client has sent nothing for
    `idle_timeout` seconds (None or <= 0: no bound) and `in_flight()` is false. Close it
    (`contextlib.aclosing`) so that a pending read is cancelled with it."""
    bounded = idle_timeout is not None and idle_timeout > 0
    iterator = aiter(requests)
    following: asyncio.Future | None = None
    try:
        while True:
            following = asyncio.ensure_future(anext(iterator))
            busy = False  # something was in flight at the last check
            while not (await asyncio.wait({following}, timeout=idle_timeout if bounded else None))[
                0
            ]:
                if in_flight():
                    busy = True
                elif busy:  # the last item finished within this period: the idle clock starts
                    busy = False
                else:
                    raise DeadlineExceeded(
                        f"stream idle for {idle_timeout:g} s with nothing in flight"
                    )
            try:
                request = following.result()
            except StopAsyncIteration:
                return
            following = None
            yield request
    finally:
        if following is not None:
            following.cancel()
