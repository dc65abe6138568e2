"""Hot embeddings of this process: decoded, checked cache entries kept in memory.

A cached Compare or Embed of an image seen a moment ago would otherwise cost a Redis round trip
and a decode + check of the value on every call. Entries are kept here once they were read from
the cache (and passed its check) or computed, so a repeated call answers from process memory.

A key carries the model version and the SHA-256 of the image bytes, so a value never changes
under its key: keeping it cannot serve a stale embedding. Still, the store is bounded three ways:
at most `max_entries` (least recently used first out), each entry for at most `ttl_seconds`
(an image referenced only by its SHA-256 is not answered much longer than the shared cache keeps
it), and only one model version at a time (a new served version empties it at once). Entries
that are not a finite vector of the model's dimension with a finite box are never admitted.
A kept vector is made read-only: every call that reads it shares it. One event loop uses the
store, so it needs no lock.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

import numpy as np

from gateway.cache.entry import CachedEmbedding


class HotEntries:
    def __init__(self, max_entries: int, ttl_seconds: float) -> None:
        self.max_entries = max(0, max_entries)
        self._ttl = ttl_seconds if ttl_seconds > 0 else math.inf
        self._version = ""
        self._entries: OrderedDict[str, tuple[float, CachedEmbedding]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        return self.max_entries > 0

    def use_version(self, model_version: str) -> None:
        """The served model version; a change drops every entry of the previous one."""
        if model_version != self._version:
            self._entries.clear()
            self._version = model_version

    def get(self, key: str) -> CachedEmbedding | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found[1]

    def put(self, key: str, entry: CachedEmbedding, dim: int) -> bool:
        """Keep a checked entry of the current version; False (not kept) for a bad one."""
        if not self.max_entries or not valid(entry, dim):
            return False
        entry.embedding.flags.writeable = False  # shared by every call that reads it
        self._entries[key] = (time.monotonic() + self._ttl, entry)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True

    def clear(self) -> None:
        self._entries.clear()


def valid(entry: CachedEmbedding, dim: int) -> bool:
    """A finite float32 vector of `dim` values and a finite box: what may be served."""
    vector = entry.embedding
    return (
        isinstance(vector, np.ndarray)
        and vector.shape == (dim,)
        and bool(np.isfinite(vector).all())
        and len(entry.roi) == 4
        and all(math.isfinite(v) for v in entry.roi)
    )
