"""Failed calls in the log, rate-limited: an outage must not turn into a flood of log lines.

Each (method, code) may write `per_second` lines a second (a token bucket, burst the same);
the lines held back are counted and reported in the next line written for that pair as
`suppressed`. Metrics count every call exactly; only the log is sampled.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float
    suppressed: int = 0


class FailureLog:
    def __init__(self, logger: logging.Logger, per_second: float) -> None:
        self._log = logger
        self._rate = per_second
        self._burst = max(1.0, per_second)
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def failed(self, method: str, code: str, seconds: float, message: str) -> None:
        now = time.monotonic()
        bucket = self._buckets.get((method, code))
        if bucket is None:
            bucket = self._buckets[(method, code)] = _Bucket(self._burst, now)
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens < 1:
            bucket.suppressed += 1
            return
        bucket.tokens -= 1
        extra = {"method": method, "code": code, "seconds": seconds, "error": message}
        if bucket.suppressed:
            extra["suppressed"] = bucket.suppressed
            bucket.suppressed = 0
        self._log.info("call failed", extra=extra)
