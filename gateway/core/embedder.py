"""Attribute embeddings of images: hot entries, then the embedding cache, Triton for the misses.

For a set of (image, attribute) pairs: entries this process holds decoded (`HotEntries`) answer
at once, without a task, a cache round trip or a decode. Of the rest, keys in flight in another
request are awaited (single-flight); the others are read from the cache in one batched call;
what is still missing is computed by Triton with one row per image carrying all of that image's
missing attribute ids (the global backbone runs once per image), rows grouped by attribute count
and chunked to the model's max batch size, chunks sent concurrently (spread over the Triton
endpoints). The computation runs in its own task under its own deadline (the first caller's, or
`compute_timeout` if that is longer), shielded from the callers: each caller waits for it only
until its own deadline, so a caller in a hurry times out alone and the others still get the
result. Every entry read from the cache (and checked), or computed and stored in it, is kept
hot: the hot entries are a copy of what the shared cache holds, so an embedding computed while
Redis was unreachable is not kept (the next call goes to the cache again and stores it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from asen_contract.errors import Cancelled, DeadlineExceeded, InvalidInput, NotFound
from asen_contract.model_info import AttributeSpec, ModelInfo
from gateway import metrics
from gateway.cache.backend import CacheBackend
from gateway.cache.entry import CachedEmbedding, cache_key
from gateway.cache.single_flight import SingleFlight
from gateway.core.hot_entries import HotEntries, valid
from gateway.core.images import ImageInput, check_image
from gateway.core.inference import InferenceBackend
from gateway.core.results import AttributeResult

T = TypeVar("T")


@dataclass(frozen=True)
class _Row:
    image: ImageInput
    attributes: tuple[AttributeSpec, ...]


class Embedder:
    def __init__(
        self,
        pool: InferenceBackend,
        cache: CacheBackend,
        max_image_pixels: int = 0,
        cache_dtype: str = "float32",
        compute_timeout: float = 30.0,
        hot: HotEntries | None = None,
    ) -> None:
        self._pool = pool
        self._cache = cache
        self._hot = hot if hot is not None else HotEntries(0, 0)
        self._hot_hits = metrics.CACHE_HITS.labels(backend="hot")
        self._hits = metrics.CACHE_HITS.labels(backend=cache.name)
        self._misses = metrics.CACHE_MISSES.labels(backend=cache.name)
        self._invalid = metrics.CACHE_INVALID_ENTRIES.labels(backend=cache.name)
        self._cache_dtype = cache_dtype  # storage of cached vectors: float32 or float16
        self._max_image_pixels = max_image_pixels
        self._compute_timeout = compute_timeout
        self._flights: SingleFlight[CachedEmbedding] = SingleFlight()

    def pixel_limit(self, info: ModelInfo) -> int:
        limits = [p for p in (self._max_image_pixels, info.max_image_pixels) if p > 0]
        return min(limits) if limits else 0

    async def embed(
        self,
        info: ModelInfo,
        images: list[ImageInput],
        attributes: list[AttributeSpec],
        deadline: float,
    ) -> list[dict[str, AttributeResult]]:
        """Per image, attribute name -> result; raises InvalidInput naming the first bad image."""
        version = info.model_version
        hot = self._hot
        hot.use_version(version)
        keys = [[cache_key(version, a.name, image.sha256) for a in attributes] for image in images]
        found: dict[str, tuple[CachedEmbedding, bool]] = {}
        pairs: dict[str, tuple[ImageInput, AttributeSpec]] = {}
        for image, row in zip(images, keys, strict=True):
            for a, key in zip(attributes, row, strict=True):
                if key in found:
                    continue
                entry = hot.get(key)
                if entry is not None:
                    found[key] = (entry, True)
                elif key not in pairs or pairs[key][0].data is None:  # prefer one with bytes
                    pairs[key] = (image, a)
        if found:
            self._hot_hits.inc(len(found))
        if pairs:
            found.update(await self._resolve(info, pairs, deadline))
        results: list[dict[str, AttributeResult]] = []
        for row in keys:
            per_attribute: dict[str, AttributeResult] = {}
            for a, key in zip(attributes, row, strict=True):
                entry, cached = found[key]
                per_attribute[a.name] = AttributeResult(entry.embedding, entry.roi, cached)
            results.append(per_attribute)
        return results

    async def _resolve(
        self,
        info: ModelInfo,
        pairs: dict[str, tuple[ImageInput, AttributeSpec]],
        deadline: float,
    ) -> dict[str, tuple[CachedEmbedding, bool]]:
        """Keys not held hot: awaited if in flight elsewhere, else cache, then Triton."""
        owned, waiting = self._flights.claim(list(pairs))
        found: dict[str, tuple[CachedEmbedding, bool]] = {}
        if owned:
            shared = max(deadline, time.monotonic() + self._compute_timeout)
            task = asyncio.create_task(self._fill(info, owned, pairs, shared))
            task.add_done_callback(_retrieve)
            found.update(await _until(task, deadline))
        for key, future in waiting.items():
            found[key] = (await _until(future, deadline), True)
        return found

    async def embed_with_attention(
        self, info: ModelInfo, image: ImageInput, attributes: list[AttributeSpec], deadline: float
    ) -> dict[str, AttributeResult]:
        """Always computed (attention maps are not cached); the embeddings are cached after."""
        check_image(image, self.pixel_limit(info))
        out = await self._pool.infer(
            [image.data], [[a.id for a in attributes]], info.model_version, True, _left(deadline)
        )
        results: dict[str, AttributeResult] = {}
        entries: dict[str, CachedEmbedding] = {}
        self._hot.use_version(info.model_version)
        for k, a in enumerate(attributes):
            entry = CachedEmbedding(
                np.array(out.embeddings[0, k], dtype=np.float32),
                tuple(map(float, out.rois[0, k])),
            )
            entries[cache_key(info.model_version, a.name, image.sha256)] = entry
            results[a.name] = AttributeResult(
                entry.embedding, entry.roi, False, out.attention[0, k]
            )
        writes = {key: entry.encode(self._cache_dtype) for key, entry in entries.items()}
        if await self._cache.set_many(writes):
            for key, entry in entries.items():
                self._hot.put(key, entry, info.embedding_dim)
        return results

    async def _fill(
        self,
        info: ModelInfo,
        owned: list[str],
        pairs: dict[str, tuple[ImageInput, AttributeSpec]],
        deadline: float,
    ) -> dict[str, tuple[CachedEmbedding, bool]]:
        """Resolve every owned key (cache, then Triton); fail the unresolved ones on any error."""
        found: dict[str, tuple[CachedEmbedding, bool]] = {}
        try:
            for key, value in zip(owned, await self._cache.get_many(owned), strict=True):
                entry = self._decode(value, info)
                if entry is not None:
                    found[key] = (entry, True)
                    self._hot.put(key, entry, info.embedding_dim)
                    self._flights.resolve(key, entry)
            self._hits.inc(len(found))
            self._misses.inc(len(owned) - len(found))
            missing = [key for key in owned if key not in found]
            if missing:
                computed = await self._compute(info, missing, pairs, deadline)
                stored = await self._cache.set_many(
                    {k: e.encode(self._cache_dtype) for k, e in computed.items()}
                )
                for key, entry in computed.items():
                    found[key] = (entry, False)
                    if stored:  # hot = a copy of what the shared cache holds
                        self._hot.put(key, entry, info.embedding_dim)
                    self._flights.resolve(key, entry)
            return found
        except BaseException as error:
            for key in owned:
                self._flights.fail(key, _for_waiters(error))
            raise

    async def _compute(
        self,
        info: ModelInfo,
        missing: list[str],
        pairs: dict[str, tuple[ImageInput, AttributeSpec]],
        deadline: float,
    ) -> dict[str, CachedEmbedding]:
        by_image: dict[str, tuple[ImageInput, list[AttributeSpec]]] = {}
        for key in missing:
            image, attribute = pairs[key]
            by_image.setdefault(image.sha256, (image, []))[1].append(attribute)
        rows: list[_Row] = []
        for image, attributes in by_image.values():
            if image.data is None:
                raise NotFound(
                    f"{image.label} ({image.sha256}) has no cached embedding for "
                    f"attribute {attributes[0].name!r} under model version "
                    f"{info.model_version!r}; send the image bytes"
                )
            check_image(image, self.pixel_limit(info))
            rows.append(_Row(image, tuple(attributes)))
        chunks = list(_chunks(rows, max(1, info.max_batch_size)))
        results = await asyncio.gather(*(self._run(info, c, deadline) for c in chunks))
        computed: dict[str, CachedEmbedding] = {}
        for part in results:
            computed.update(part)
        return computed

    async def _run(
        self, info: ModelInfo, rows: list[_Row], deadline: float
    ) -> dict[str, CachedEmbedding]:
        """One Triton call; a bad image in a multi-row call is pinned down row by row."""
        try:
            out = await self._pool.infer(
                [r.image.data for r in rows],
                [[a.id for a in r.attributes] for r in rows],
                info.model_version,
                False,
                _left(deadline),
            )
        except InvalidInput as error:
            if len(rows) > 1:
                parts = await asyncio.gather(*(self._run(info, [r], deadline) for r in rows))
                return {k: v for part in parts for k, v in part.items()}
            raise type(error)(f"{rows[0].image.label}: {error}") from None
        computed: dict[str, CachedEmbedding] = {}
        for b, row in enumerate(rows):
            for k, a in enumerate(row.attributes):
                box = tuple(float(v) for v in out.rois[b, k])
                key = cache_key(info.model_version, a.name, row.image.sha256)
                vector = np.array(out.embeddings[b, k], dtype=np.float32)
                computed[key] = CachedEmbedding(vector, box)
        return computed

    def _decode(self, value: bytes | None, info: ModelInfo) -> CachedEmbedding | None:
        """A cached value, or None (a miss) for a value that is not a valid embedding of this
        model: malformed, of another length, or not finite. Counted, then overwritten."""
        if value is None:
            return None
        try:
            entry = CachedEmbedding.decode(value)
        except ValueError:
            entry = None
        if entry is None or not valid(entry, info.embedding_dim):
            self._invalid.inc()
            return None
        return entry


def _chunks(rows: list[_Row], size: int) -> Iterable[list[_Row]]:
    """Rows grouped by attribute count (one Triton call needs equal K), at most `size` each."""
    by_k: dict[int, list[_Row]] = {}
    for row in rows:
        by_k.setdefault(len(row.attributes), []).append(row)
    for group in by_k.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]


async def _until(shared: asyncio.Future[T], deadline: float) -> T:
    """Wait for a computation shared with other callers until this caller's deadline only;
    leaving early (deadline, cancellation) never cancels it for the others."""
    try:
        return await asyncio.wait_for(asyncio.shield(shared), _left(deadline))
    except TimeoutError:
        raise DeadlineExceeded("deadline exceeded waiting for the model") from None


def _retrieve(task: asyncio.Task) -> None:
    """Mark the outcome of a shared computation seen even if every caller has left."""
    if not task.cancelled():
        task.exception()


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise DeadlineExceeded("deadline exceeded before Triton")
    return left


def _for_waiters(error: BaseException) -> BaseException:
    """What requests waiting on the same keys see: the same error kind, never the owner's
    cancellation (a waiter was not cancelled itself)."""
    if isinstance(error, asyncio.CancelledError):
        return Cancelled("the computing request was cancelled")
    if isinstance(error, Exception):
        return error
    return RuntimeError("embedding failed")
