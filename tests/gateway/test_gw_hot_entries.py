"""Hot entries: the per-process store of decoded embeddings in front of the cache.

The store alone (bound, lifetime, model versions, bad entries) and in the embedder, with a
counting cache and the scripted Triton stand-in: a hot key asks neither the cache nor Triton."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest

from gateway import metrics
from gateway.cache.entry import CachedEmbedding, cache_key
from gateway.cache.memory_cache import MemoryCache
from gateway.core import hot_entries as hot_module
from gateway.core.embedder import Embedder
from gateway.core.hot_entries import HotEntries
from gateway.core.images import ImageInput

from .gw_support import INFO, image_bytes
from .gw_support import ScriptedBackend as ScriptedPool

DIM = 8


def _entry(seed: int = 0, dim: int = DIM) -> CachedEmbedding:
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return CachedEmbedding(vector, (1.0, 2.0, 3.0, 4.0))


def test_the_least_recently_used_entry_leaves_first() -> None:
    hot = HotEntries(max_entries=2, ttl_seconds=60)
    assert hot.put("a", _entry(1), DIM) and hot.put("b", _entry(2), DIM)
    assert hot.get("a") is not None  # a is now the most recent
    hot.put("c", _entry(3), DIM)
    assert len(hot) == 2
    assert hot.get("b") is None
    assert hot.get("a") is not None and hot.get("c") is not None


def test_a_new_model_version_empties_the_store() -> None:
    hot = HotEntries(max_entries=10, ttl_seconds=60)
    hot.use_version("v1")
    hot.put(cache_key("v1", "collar", "ab" * 32), _entry(), DIM)
    hot.use_version("v1")  # the same version keeps its entries
    assert len(hot) == 1
    hot.use_version("v2")
    assert len(hot) == 0
    assert hot.get(cache_key("v1", "collar", "ab" * 32)) is None


@pytest.mark.parametrize(
    "entry",
    [
        CachedEmbedding(np.full(DIM, np.nan, np.float32), (0, 0, 1, 1)),
        CachedEmbedding(np.full(DIM, np.inf, np.float32), (0, 0, 1, 1)),
        CachedEmbedding(np.ones(DIM + 1, np.float32), (0, 0, 1, 1)),
        CachedEmbedding(np.ones((2, DIM // 2), np.float32), (0, 0, 1, 1)),
        CachedEmbedding(np.ones(DIM, np.float32), (0, 0, float("nan"), 1)),
        CachedEmbedding(np.ones(DIM, np.float32), (0, 0, 1)),
    ],
    ids=["nan", "inf", "wrong-dim", "wrong-shape", "nan-box", "short-box"],
)
def test_a_bad_entry_is_never_kept(entry: CachedEmbedding) -> None:
    hot = HotEntries(max_entries=10, ttl_seconds=60)
    assert not hot.put("k", entry, DIM)
    assert hot.get("k") is None and len(hot) == 0


def test_an_entry_expires(monkeypatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(hot_module.time, "monotonic", lambda: now[0])
    hot = HotEntries(max_entries=10, ttl_seconds=5)
    hot.put("k", _entry(), DIM)
    now[0] += 4.9
    assert hot.get("k") is not None
    now[0] += 0.2
    assert hot.get("k") is None and len(hot) == 0


def test_zero_entries_keeps_nothing() -> None:
    hot = HotEntries(max_entries=0, ttl_seconds=60)
    assert not hot.enabled
    assert not hot.put("k", _entry(), DIM) and len(hot) == 0


def test_a_kept_vector_cannot_be_changed_by_a_reader() -> None:
    hot = HotEntries(max_entries=10, ttl_seconds=60)
    hot.put("k", _entry(), DIM)
    with pytest.raises(ValueError):
        hot.get("k").embedding[0] = 5.0


class CountingCache(MemoryCache):
    def __init__(self) -> None:
        super().__init__(100, 60)
        self.reads: list[list[str]] = []

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        self.reads.append(list(keys))
        return await super().get_many(keys)


def _deadline() -> float:
    return time.monotonic() + 10


async def test_a_hot_key_asks_neither_the_cache_nor_triton() -> None:
    pool, cache = ScriptedPool(), CountingCache()
    embedder = Embedder(pool, cache, hot=HotEntries(100, 60))
    a = ImageInput.from_bytes(image_bytes(31), "a")
    b = ImageInput.from_bytes(image_bytes(32), "b")
    attributes = list(INFO.attributes)
    first = await embedder.embed(INFO, [a, b], attributes, _deadline())
    assert len(pool.calls) == 1 and len(cache.reads) == 1
    hits = metrics.CACHE_HITS.labels(backend="hot")._value.get()
    again = await embedder.embed(INFO, [a, b], attributes, _deadline())
    assert len(pool.calls) == 1 and len(cache.reads) == 1  # nothing asked
    assert metrics.CACHE_HITS.labels(backend="hot")._value.get() == hits + 4
    for before, after in zip(first, again, strict=True):
        for name in before:
            assert after[name].cached
            np.testing.assert_array_equal(after[name].embedding, before[name].embedding)
            assert after[name].roi == before[name].roi


async def test_only_the_keys_not_hot_go_to_the_cache() -> None:
    pool, cache = ScriptedPool(), CountingCache()
    embedder = Embedder(pool, cache, hot=HotEntries(100, 60))
    a = ImageInput.from_bytes(image_bytes(33), "a")
    b = ImageInput.from_bytes(image_bytes(34), "b")
    await embedder.embed(INFO, [a], [INFO.attributes[0]], _deadline())
    await embedder.embed(INFO, [a, b], [INFO.attributes[0]], _deadline())
    collar = INFO.attributes[0].name
    assert cache.reads[-1] == [cache_key(INFO.model_version, collar, b.sha256)]


async def test_values_read_from_the_cache_become_hot_and_bad_ones_do_not() -> None:
    pool, cache = ScriptedPool(), CountingCache()
    hot = HotEntries(100, 60)
    embedder = Embedder(pool, cache, hot=hot)
    good = ImageInput.from_bytes(image_bytes(35), "good")
    bad = ImageInput.from_bytes(image_bytes(36), "bad")
    collar = INFO.attributes[0]
    good_key = cache_key(INFO.model_version, collar.name, good.sha256)
    bad_key = cache_key(INFO.model_version, collar.name, bad.sha256)
    dim = INFO.embedding_dim
    await cache.set_many(
        {
            good_key: _entry(5, dim).encode(),
            bad_key: CachedEmbedding(np.full(dim, np.nan, np.float32), (0, 0, 1, 1)).encode(),
        }
    )
    results = await embedder.embed(INFO, [good, bad], [collar], _deadline())
    assert results[0][collar.name].cached and not results[1][collar.name].cached
    assert hot.get(good_key) is not None
    kept = hot.get(bad_key)  # the recomputed (finite) value replaced the bad one
    assert kept is not None and np.isfinite(kept.embedding).all()
    assert len(pool.calls) == 1


async def test_a_new_model_version_reads_the_cache_again() -> None:
    pool, cache = ScriptedPool(), CountingCache()
    embedder = Embedder(pool, cache, hot=HotEntries(100, 60))
    image = ImageInput.from_bytes(image_bytes(37), "a")
    await embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline())
    newer = dataclasses.replace(INFO, model_version="v-next")
    await embedder.embed(newer, [image], [INFO.attributes[0]], _deadline())
    assert len(cache.reads) == 2 and "v-next" in cache.reads[-1][0]
    assert len(pool.calls) == 2  # the new version's embedding is computed, not reused


class RefusingCache(CountingCache):
    """A cache that cannot store (Redis down or skipped): set_many reports it."""

    async def set_many(self, items: dict[str, bytes]) -> bool:
        return False


async def test_an_embedding_the_cache_did_not_store_is_not_kept_hot() -> None:
    """Hot entries copy the shared cache: what it did not store is asked for again (and stored
    once the cache is back), never served from one process only."""
    pool, cache = ScriptedPool(), RefusingCache()
    hot = HotEntries(100, 60)
    embedder = Embedder(pool, cache, hot=hot)
    image = ImageInput.from_bytes(image_bytes(38), "a")
    await embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline())
    await embedder.embed_with_attention(INFO, image, [INFO.attributes[1]], _deadline())
    assert len(hot) == 0
    await embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline())
    assert len(cache.reads) == 2
