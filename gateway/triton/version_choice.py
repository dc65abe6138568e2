"""Which model version the gateway serves while Triton endpoints disagree (a rollout).

The version that most ready endpoints serve, or the one pinned by configuration. On a tie the
current version stays (no flapping while a rollout is half done), so traffic moves to a new
version once it has the majority of ready endpoints, not when its first pod turns ready.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def choose_version(ready: Iterable[str], current: str | None, pinned: str = "") -> str | None:
    """The version to serve, given the versions of the ready endpoints (one entry each)."""
    counts = Counter(ready)
    if pinned:
        return pinned if counts[pinned] else None
    if not counts:
        return None
    most = max(counts.values())
    leaders = sorted(v for v, n in counts.items() if n == most)
    return current if current in leaders else leaders[-1]
