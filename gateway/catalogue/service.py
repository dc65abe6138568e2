"""The catalogue's operations without a transport: upsert stream, search, delete, stats, list,
reindex state. Inputs and outputs are the plain types of `operations`; failures are the error
kinds of asen_contract.errors (the gRPC adapter maps them to status codes in one place).

Embeddings come from the gateway's embedding step (`EmbeddingSource`: cache first, one Triton row
per image for all its attributes), so an image already embedded costs no Triton call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from typing import Any, Protocol

import numpy as np

from asen_contract.errors import InvalidInput, LimitExceeded, NotFound, Unavailable
from gateway.catalogue.filters import ItemFilter, to_engine_expression
from gateway.catalogue.identifiers import check_item_id
from gateway.catalogue.items import AttributeVector, ItemRecord
from gateway.catalogue.metadata import check_metadata
from gateway.catalogue.operations import (
    AttributeHits,
    DeleteResult,
    ListedItem,
    ScoredHit,
    SearchQuery,
    SearchResult,
    StatsResult,
    UpsertOutcome,
    UpsertRequest,
    VersionReport,
)
from gateway.catalogue.registry import BUILDING, READY, VersionEntry
from gateway.catalogue.store import CatalogueStore
from gateway.core.images import ImageInput
from gateway.core.scoring import score
from gateway.core.streams import idle_bounded

MAX_DELETE_IDS = 1000
MAX_SEARCH_ATTRIBUTES = 16


class EmbeddingSource(Protocol):
    """What the catalogue needs from the gateway core (its SimilarityService provides it)."""

    def model(self) -> Any: ...

    def attributes(self, info: Any, names: Sequence[str]) -> list: ...

    async def embed_images(
        self, info: Any, images: list, attributes: list, deadline: float
    ) -> list[dict[str, Any]]: ...


class CatalogueService:
    def __init__(
        self,
        source: EmbeddingSource,
        store: CatalogueStore,
        item_timeout: float = 30.0,
        window: int = 16,
    ) -> None:
        self._source = source
        self._store = store
        self.item_timeout = item_timeout
        self._window = window
        self.max_top_k = store.settings.max_top_k
        self._write_batch = store.settings.write_batch

    async def close(self) -> None:
        await self._store.close()

    # -- versions -------------------------------------------------------------------------------
    async def _writable(self, info: Any, deadline: float) -> VersionEntry:
        return await self._store.ensure_version(
            info.model_version,
            info.embedding_dim,
            info.global_dim,
            [a.id for a in info.attributes],
            deadline,
            attribute_names=[a.name for a in info.attributes],
        )

    async def _searchable(self, info: Any, deadline: float) -> VersionEntry | None:
        entry = await self._store.entry(info.model_version, deadline)
        if entry is not None and entry.state != READY:
            raise Unavailable(
                f"the catalogue of model version {info.model_version!r} is being rebuilt "
                f"(reindex from {entry.source_version or 'another version'}); searches resume "
                "when the reindex finishes"
            )
        return entry

    # -- upsert ---------------------------------------------------------------------------------
    async def upsert_stream(
        self,
        requests: AsyncIterable[UpsertRequest],
        deadline_of: Callable[[], float] | None = None,
        idle_timeout: float | None = None,
    ) -> AsyncIterator[UpsertOutcome]:
        """Index a stream of items; one outcome per item, in stream order.

        Up to `window` items are embedded at once (reading stops while the window is full, so
        the transport's flow control slows a fast producer); each item gets its own deadline
        when it is read (the stream has none). Embedded items are written in stream order, in
        batches of up to `write_batch` (items embedded while a write is in flight join the next
        one), and reported only once written, so the same id twice in a stream ends with the
        later one. A stream that sends nothing for `idle_timeout` seconds while none of its
        items is in flight ends with DeadlineExceeded (the same bound as EmbedStream's).
        """
        deadline_of = deadline_of or (lambda: time.monotonic() + self.item_timeout)
        pending: asyncio.Queue[asyncio.Task | None] = asyncio.Queue(maxsize=self._window)
        read = answered = 0  # items read from the stream / whose outcome was yielded

        async def feed() -> None:
            nonlocal read
            reads = idle_bounded(requests, idle_timeout, lambda: read != answered)
            async with contextlib.aclosing(reads):
                async for request in reads:
                    index, read = read, read + 1
                    deadline = deadline_of()
                    task = asyncio.create_task(self._embed_item(index, request, deadline))
                    await pending.put(task)
            await pending.put(None)

        feeder = asyncio.create_task(feed())
        batch: list[tuple[UpsertOutcome, ItemRecord | None, VersionEntry | None, float]] = []
        write: asyncio.Task | None = None  # one engine write at a time, in stream order
        getter: asyncio.Future | None = None
        reading = True
        try:
            while reading or batch or write is not None:
                if (
                    write is None
                    and batch
                    and (len(batch) >= self._write_batch or pending.empty() or not reading)
                ):
                    write, batch = asyncio.create_task(self._flush(batch)), []
                waits: set[asyncio.Future] = set() if write is None else {write}
                if reading and len(batch) < self._write_batch:
                    getter = getter or asyncio.ensure_future(pending.get())
                    waits |= {getter, feeder}
                done, _ = await asyncio.wait(waits, return_when="FIRST_COMPLETED")
                if write is not None and write in done:
                    for outcome in write.result():
                        answered += 1
                        yield outcome
                    write = None
                if getter is not None and getter in done:
                    task, getter = getter.result(), None
                    if task is None:
                        reading = False
                    else:
                        batch.append(await task)  # embeds go on while a write is in flight
                elif feeder in done and reading:  # the feeder ended without a sentinel
                    if getter is not None:
                        getter.cancel()
                    feeder.result()  # raises the transport's error
                    reading = False
        finally:
            if getter is not None:
                getter.cancel()
            if write is not None:
                write.cancel()
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feeder
            while not pending.empty():
                task = pending.get_nowait()
                if task is not None:
                    task.cancel()

    async def _embed_item(
        self, index: int, request: UpsertRequest, deadline: float
    ) -> tuple[UpsertOutcome, ItemRecord | None, VersionEntry | None, float]:
        try:
            item_id = check_item_id(request.item_id)
            metadata = check_metadata(
                request.category, request.brand, request.labels, f"item {item_id!r}"
            )
            image = ImageInput.of(request.image, f"item {item_id!r}: image")
            info = self._source.model()
            attributes = self._source.attributes(info, list(request.attributes))
            entry = await self._writable(info, deadline)
            (results,) = await self._source.embed_images(info, [image], attributes, deadline)
            record = ItemRecord(
                item_id,
                image.sha256,
                metadata,
                tuple(
                    AttributeVector(a.id, results[a.name].embedding, results[a.name].roi)
                    for a in attributes
                ),
            )
            outcome = UpsertOutcome(
                index,
                item_id,
                info.model_version,
                image.sha256,
                tuple(a.name for a in attributes),
                all(results[a.name].cached for a in attributes),
            )
            return outcome, record, entry, deadline
        except Exception as error:  # one bad item is its own error result
            return UpsertOutcome(index, request.item_id, error=error), None, None, deadline

    async def _flush(
        self, batch: list[tuple[UpsertOutcome, ItemRecord | None, VersionEntry | None, float]]
    ) -> list[UpsertOutcome]:
        """Write the embedded items of a batch (grouped by model version); the outcomes of a
        write that fails carry its error, so no item is reported stored that is not."""
        failed: dict[int, BaseException] = {}
        groups: dict[str, list[tuple[UpsertOutcome, ItemRecord, VersionEntry, float]]] = {}
        for outcome, record, entry, deadline in batch:
            if record is not None and entry is not None:
                groups.setdefault(entry.collection, []).append((outcome, record, entry, deadline))
        for items in groups.values():
            deadline = max(d for *_, d in items)
            try:
                await self._store.upsert(items[0][2], [r for _, r, _, _ in items], deadline)
            except Exception as error:
                for outcome, *_ in items:
                    failed[outcome.index] = error
        return [
            UpsertOutcome(o.index, o.item_id, error=failed[o.index]) if o.index in failed else o
            for o, *_ in batch
        ]

    # -- search ---------------------------------------------------------------------------------
    async def search(self, query: SearchQuery, deadline: float) -> SearchResult:
        if not query.attributes:
            raise InvalidInput("SearchItems needs at least one attribute")
        if len(query.attributes) > MAX_SEARCH_ATTRIBUTES:
            raise LimitExceeded(
                f"{len(query.attributes)} attributes; the limit is {MAX_SEARCH_ATTRIBUTES}"
            )
        if query.top_k < 1:
            raise InvalidInput("top_k must be at least 1")
        if query.top_k > self.max_top_k:
            raise LimitExceeded(f"top_k {query.top_k} is over the limit of {self.max_top_k}")
        if (query.image is None) == (not query.item_id):
            raise InvalidInput("SearchItems needs a query: an image or an item_id (not both)")
        if query.exclude_query_item and not query.item_id:
            raise InvalidInput("exclude_query_item applies to a query by item_id")
        info = self._source.model()
        attributes = self._source.attributes(info, list(query.attributes))
        if len(attributes) * query.top_k > self.max_top_k:
            # every result brings its stored vector into the gateway: bound them per request
            raise LimitExceeded(
                f"{len(attributes)} attributes x top_k {query.top_k} = "
                f"{len(attributes) * query.top_k} results; the limit per search is "
                f"{self.max_top_k}"
            )
        expression = to_engine_expression(query.item_filter)
        entry = await self._searchable(info, deadline)
        query_sha256 = ""
        if query.item_id:
            item_id = check_item_id(query.item_id)
            if entry is None:
                raise NotFound(f"item {item_id!r} is not in the catalogue (it is empty)")
            stored = await self._store.vectors(entry, item_id, [a.id for a in attributes], deadline)
            vectors = {a.name: (stored[a.id].embedding, stored[a.id].roi) for a in attributes}
        else:
            image = ImageInput.of(query.image, "query image")
            (results,) = await self._source.embed_images(info, [image], attributes, deadline)
            vectors = {a.name: (results[a.name].embedding, results[a.name].roi) for a in attributes}
            query_sha256 = image.sha256
        exclude = query.item_id if query.exclude_query_item else ""

        async def one(attribute: Any) -> AttributeHits:
            vector, roi = vectors[attribute.name]
            if entry is None:
                return AttributeHits(attribute.name, [], roi)
            hits = await self._store.search(
                entry, vector, attribute.id, query.top_k, expression, exclude, deadline
            )
            return AttributeHits(attribute.name, _scored(vector, hits, info.global_dim), roi)

        per_attribute = await asyncio.gather(*(one(a) for a in attributes))
        return SearchResult(info.model_version, query_sha256, query.item_id, list(per_attribute))

    # -- delete, stats, listing, reindex --------------------------------------------------------
    async def delete(self, item_ids: Sequence[str], deadline: float) -> DeleteResult:
        if not item_ids:
            raise InvalidInput("DeleteItems needs at least one item id")
        if len(item_ids) > MAX_DELETE_IDS:
            raise LimitExceeded(f"{len(item_ids)} item ids; the limit is {MAX_DELETE_IDS}")
        ids = list(dict.fromkeys(check_item_id(i) for i in item_ids))
        info = self._source.model()
        entry = await self._store.entry(info.model_version, deadline)
        deleted = [] if entry is None else await self._store.delete(entry, ids, deadline)
        gone = set(deleted)
        return DeleteResult(info.model_version, deleted, [i for i in ids if i not in gone])

    async def stats(self, deadline: float) -> StatsResult:
        try:
            served = self._source.model().model_version
        except Unavailable:
            served = ""
        reports = []
        for entry in await self._store.entries(deadline):
            stats = await self._store.stats(entry, deadline)
            reports.append(VersionReport(stats, entry.names, entry.model_version == served))
        return StatsResult(served, self._store.engine, reports)

    async def list_items(self, model_version: str = "") -> AsyncIterator[ListedItem]:
        if not model_version:
            model_version = self._source.model().model_version
        entry = await self._store.entry(model_version, time.monotonic() + self.item_timeout)
        if entry is None:
            raise NotFound(f"the catalogue has no collection for model version {model_version!r}")
        names = entry.names
        async for batch in self._store.list_items(entry, self.item_timeout):
            for item in batch:
                yield ListedItem(
                    item.item_id,
                    item.image_sha256,
                    item.metadata,
                    tuple(names.get(a, str(a)) for a in item.attribute_ids),
                )

    async def start_reindex(self, source_version: str, deadline: float) -> VersionReport:
        """Mark the served version's catalogue as being built from `source_version`."""
        info = self._source.model()
        if source_version == info.model_version:
            raise InvalidInput("a reindex copies from another model version than the served one")
        if source_version and await self._store.entry(source_version, deadline) is None:
            raise NotFound(f"the catalogue has no collection for model version {source_version!r}")
        entry = await self._store.ensure_version(
            info.model_version,
            info.embedding_dim,
            info.global_dim,
            [a.id for a in info.attributes],
            deadline,
            state=BUILDING,
            attribute_names=[a.name for a in info.attributes],
            source_version=source_version,
        )
        if entry.state != BUILDING:
            entry = await self._store.set_state(
                info.model_version, BUILDING, deadline, source_version
            )
        return await self._report(entry, True, deadline)

    async def finish_reindex(self, deadline: float) -> VersionReport:
        info = self._source.model()
        entry = await self._store.set_state(info.model_version, READY, deadline)
        return await self._report(entry, True, deadline)

    async def _report(self, entry: VersionEntry, serving: bool, deadline: float) -> VersionReport:
        return VersionReport(await self._store.stats(entry, deadline), entry.names, serving)


def _scored(query: np.ndarray, hits: list, global_dim: int) -> list[ScoredHit]:
    if not hits:
        return []
    s = score(query, np.stack([h.embedding for h in hits]), global_dim)
    return [
        ScoredHit(
            h.item_id,
            float(s.fused[i]),
            float(s.global_part[i]),
            float(s.local_part[i]),
            h.metadata,
            h.image_sha256,
            h.roi,
        )
        for i, h in enumerate(hits)
    ]


__all__ = ["CatalogueService", "EmbeddingSource", "ItemFilter"]
