"""Capped exponential back-off with jitter, for retrying the Kubernetes API."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of initial_s, 2x, 4x ... up to max_s, each randomized by +-jitter.

    Jitter keeps many gateway replicas from hammering a recovering API server in lockstep.
    """

    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    _attempt: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s or self.factor < 1:
            raise ValueError("back-off needs 0 < initial_s <= max_s and factor >= 1")

    def next_delay(self) -> float:
        """The delay before the next retry; each call lengthens the following one."""
        base = min(self.max_s, self.initial_s * self.factor**self._attempt)
        self._attempt += 1
        return base * random.uniform(1 - self.jitter, 1 + self.jitter)

    def reset(self) -> None:
        """Start again from initial_s (after a success)."""
        self._attempt = 0
