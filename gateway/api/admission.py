"""Admission of unary calls: a bounded number in flight; beyond it RESOURCE_EXHAUSTED.

Rejecting at once (instead of queueing without bound) keeps latency and memory bounded under
overload, so the gateway degrades with clear errors and never collapses.
"""

from __future__ import annotations

from gateway import metrics


class InFlightLimiter:
    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self.in_flight = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.max_in_flight:
            return False
        self.in_flight += 1
        metrics.IN_FLIGHT.inc()
        return True

    def overloaded_message(self) -> str:
        return f"gateway overloaded: {self.max_in_flight} calls in flight; retry later"

    def release(self) -> None:
        self.in_flight -= 1
        metrics.IN_FLIGHT.dec()
