"""Collects on_change calls and waits for them with a bounded poll (no fixed sleeps)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

WAIT_S = 10.0  # generous: a bound against hangs, not a speed target


class Recorder:
    """An on_change callback that remembers every list it was given."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, endpoints: list[str]) -> None:
        self.calls.append(endpoints)

    @property
    def last(self) -> list[str] | None:
        return self.calls[-1] if self.calls else None

    async def wait_for(self, expected: list[str], timeout: float = WAIT_S) -> None:
        """Wait until the latest reported list equals `expected`."""
        await wait_until(lambda: self.last == expected, timeout, lambda: f"calls={self.calls}")


async def wait_until(
    predicate: Callable[[], bool],
    timeout: float = WAIT_S,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Poll `predicate` on the event loop until it holds; fail with a description on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s {describe()}")
        await asyncio.sleep(0.01)
