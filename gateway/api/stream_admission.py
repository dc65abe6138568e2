"""Admission of streaming calls: a budget of their own, and a cap per caller.

A stream may stay open for hours, so streams never take the slots of unary calls (those have
`InFlightLimiter`), and one caller cannot hold every stream slot: each caller (its API key, or
its address without keys) may hold at most `per_caller` streams. Over either limit a new stream
is refused with Overloaded (RESOURCE_EXHAUSTED): a quota, not the caller's malformed request.
"""

from __future__ import annotations

from collections import Counter

from asen_contract.errors import Overloaded


class StreamAdmission:
    def __init__(self, max_streams: int, per_caller: int) -> None:
        self.max_streams = max_streams
        self.per_caller = per_caller
        self._open: Counter[str] = Counter()
        self._total = 0

    def acquire(self, caller: str) -> None:
        """Admit one stream of `caller`, or raise Overloaded."""
        if self._open[caller] >= self.per_caller:
            raise Overloaded(
                f"{self.per_caller} streams already open for this caller; close one first"
            )
        if self._total >= self.max_streams:
            raise Overloaded(f"gateway busy: {self.max_streams} streams open; retry later")
        self._open[caller] += 1
        self._total += 1

    def release(self, caller: str) -> None:
        self._open[caller] -= 1
        if self._open[caller] <= 0:
            del self._open[caller]
        self._total -= 1
