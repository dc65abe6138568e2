"""The catalogue engine: Milvus (a Lite file in this process, or a server) through pymilvus.

pymilvus' synchronous client is the one code path for both engines (its asyncio client needs
RPCs that Milvus Lite does not implement), so every engine call runs in a small thread pool and
the event loop never blocks. Each call gets the time left of its request (capped by the
configured engine timeout). An engine that cannot be reached or fails is `Unavailable`: a caller
never gets a partial answer presented as a whole one. Milvus Lite allows one writer at a time, so
writes are serialised there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from asen_contract.errors import DeadlineExceeded, NotFound, Unavailable
from gateway.catalogue import schema
from gateway.catalogue.filters import quote
from gateway.catalogue.identifiers import row_key
from gateway.catalogue.items import (
    AttributeVector,
    Hit,
    ItemMetadata,
    ItemRecord,
    StoredItem,
    VersionStats,
)
from gateway.catalogue.naming import (
    ITEM_RECORD,
    RECORD_PARTITION,
    attribute_partition,
    collection_name,
    registry_name,
)
from gateway.catalogue.registry import BUILDING, READY, VersionEntry, now_ms
from gateway.catalogue.settings import CatalogueSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
_COLLECTION_MISSING = 100  # Milvus' status code for "collection does not exist"
_COLLECTION_NOT_LOADED = 101  # "collection ... is in state 'released'; call load()"
_ENTRY_TTL = 2.0  # seconds a registry entry is trusted before it is read again
_LIST_BATCH = 500


class CatalogueStore:
    def __init__(self, settings: CatalogueSettings) -> None:
        settings.validate()
        self.settings = settings
        self._executor = ThreadPoolExecutor(settings.threads, thread_name_prefix="catalogue")
        self._client: MilvusClient | None = None
        self._connect_lock = threading.Lock()
        self._write_lock: asyncio.Lock | None = None
        self._create_lock: asyncio.Lock | None = None
        self._entries: dict[str, tuple[float, VersionEntry]] = {}
        # collections loaded for search through this connection: a Lite file opened again by a
        # new process (a restarted gateway) has its collections released until loaded
        self._loaded: set[str] = set()

    @property
    def engine(self) -> str:
        return "milvus-lite" if self.settings.lite else "milvus"

    async def close(self) -> None:
        """Close the engine connection; safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, client.close)
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- engine calls ---------------------------------------------------------------------------
    async def _run(self, deadline: float, call: Callable[[MilvusClient, float], T]) -> T:
        if self._executor._shutdown:
            raise Unavailable("the catalogue is closed (the gateway is stopping)")
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("deadline exceeded before the catalogue engine was called")
        timeout = min(left, self.settings.timeout_seconds)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._guarded, call, timeout)

    async def _write(self, deadline: float, call: Callable[[MilvusClient, float], T]) -> T:
        if not self.settings.lite:
            return await self._run(deadline, call)
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        async with self._write_lock:
            return await self._run(deadline, call)

    def _guarded(self, call: Callable[[MilvusClient, float], T], timeout: float) -> T:
        try:
            try:
                return call(self._connected(), timeout)
            except MilvusException as error:
                if getattr(error, "code", None) != _COLLECTION_NOT_LOADED:
                    raise
                # An engine restarted (Milvus Lite's server, or a server whose query nodes lost
                # their state) or an operator released a collection: the registry too is
                # released then, which loading on an entry's first read cannot reach. Load
                # ours again and retry, once.
                log.warning("catalogue collections not loaded; loading them again")
                self._load_all(self._connected(), timeout)
                return call(self._connected(), timeout)
        except MilvusException as error:
            message = str(getattr(error, "message", "") or error)
            if "deadline" in message.lower() or "timeout" in message.lower():
                raise DeadlineExceeded(
                    f"catalogue engine did not answer in time: {message}"
                ) from None
            if getattr(error, "code", None) in (_COLLECTION_MISSING, _COLLECTION_NOT_LOADED):
                self._entries.clear()  # read the registry again, and load what it names
                self._loaded.clear()
            raise Unavailable(f"catalogue engine ({self.engine}): {message}") from None

    def _load_all(self, client: MilvusClient, timeout: float) -> None:
        """Load the registry and every item collection of this prefix."""
        registry = registry_name(self.settings.prefix)
        mine = [
            name
            for name in client.list_collections(timeout=timeout)
            if name == registry or name.startswith(f"{self.settings.prefix}_items_")
        ]
        for name in sorted(mine, key=lambda n: n != registry):
            client.load_collection(name, timeout=timeout)
            self._loaded.add(name)

    def _connected(self) -> MilvusClient:
        with self._connect_lock:
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> MilvusClient:
        s = self.settings
        kwargs: dict[str, Any] = {"timeout": s.timeout_seconds}
        if s.lite:
            Path(s.uri).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        else:
            if s.token:
                kwargs["token"] = s.token
            if s.database:
                kwargs["db_name"] = s.database
            if s.tls_ca:
                kwargs.update(secure=True, server_pem_path=s.tls_ca)
            if s.tls_server_name:
                kwargs["server_name"] = s.tls_server_name
        client = MilvusClient(uri=s.uri, **kwargs)
        self._ensure_registry(client)
        self._loaded.clear()
        log.info("catalogue engine connected", extra={"engine": self.engine})
        return client

    def _ensure_registry(self, client: MilvusClient) -> None:
        name = registry_name(self.settings.prefix)
        if not client.has_collection(name):
            client.create_collection(
                name,
                schema=schema.registry_schema(),
                index_params=schema.registry_index(),
                consistency_level="Strong",
            )
        client.load_collection(name)

    def _load(self, client: MilvusClient, collection: str, timeout: float) -> None:
        """Load a version's collection for search, once per connection (loading a loaded
        collection is a no-op, but a round trip)."""
        if collection not in self._loaded:
            client.load_collection(collection, timeout=timeout)
            self._loaded.add(collection)

    # -- model versions -------------------------------------------------------------------------
    async def entry(self, model_version: str, deadline: float) -> VersionEntry | None:
        """The registry entry of a version (read at most every 2 s), None if it has none."""
        cached = self._entries.get(model_version)
        if cached is not None and time.monotonic() - cached[0] < _ENTRY_TTL:
            return cached[1]
        name = registry_name(self.settings.prefix)

        def read(client: MilvusClient, timeout: float) -> list[dict]:
            rows = client.query(
                name, filter=_any_of("model_version", [model_version]), output_fields=["entry"],
                timeout=timeout,
            )  # fmt: skip
            for row in rows:
                self._load(client, VersionEntry.from_json(row["entry"]).collection, timeout)
            return rows

        rows = await self._run(deadline, read)
        if not rows:
            self._entries.pop(model_version, None)
            return None
        entry = VersionEntry.from_json(rows[0]["entry"])
        self._entries[model_version] = (time.monotonic(), entry)
        return entry

    async def entries(self, deadline: float) -> list[VersionEntry]:
        name = registry_name(self.settings.prefix)

        def read(client: MilvusClient, timeout: float) -> list[dict]:
            rows = client.query(
                name, filter='model_version != ""', output_fields=["entry"], timeout=timeout
            )
            for row in rows:
                self._load(client, VersionEntry.from_json(row["entry"]).collection, timeout)
            return rows

        rows = await self._run(deadline, read)
        return sorted(
            (VersionEntry.from_json(r["entry"]) for r in rows), key=lambda e: e.model_version
        )

    async def ensure_version(
        self,
        model_version: str,
        dim: int,
        global_dim: int,
        attribute_ids: Sequence[int],
        deadline: float,
        state: str = READY,
        attribute_names: Sequence[str] = (),
        source_version: str = "",
    ) -> VersionEntry:
        """The version's entry, creating its collection (in `state`) when it has none yet."""
        existing = await self.entry(model_version, deadline)
        if existing is not None:
            return existing
        if self._create_lock is None:
            self._create_lock = asyncio.Lock()
        async with self._create_lock:  # the first items of a stream all find no collection
            self._entries.pop(model_version, None)
            existing = await self.entry(model_version, deadline)
            if existing is not None:
                return existing
            return await self._create_version(
                entry_for(
                    self.settings,
                    model_version,
                    dim,
                    global_dim,
                    attribute_ids,
                    attribute_names,
                    state,
                    source_version,
                ),
                deadline,
            )

    async def _create_version(self, entry: VersionEntry, deadline: float) -> VersionEntry:
        s = self.settings

        def create(client: MilvusClient, timeout: float) -> None:
            if not client.has_collection(entry.collection, timeout=timeout):
                try:
                    client.create_collection(
                        entry.collection,
                        schema=schema.item_schema(entry.dim, entry.float16),
                        index_params=schema.item_index(s.index, s.lite),
                        consistency_level="Strong",
                        timeout=timeout,
                    )
                except MilvusException:
                    if not client.has_collection(entry.collection, timeout=timeout):
                        raise  # else another gateway created it at the same moment
            if entry.layout == "partition":
                have = set(client.list_partitions(entry.collection, timeout=timeout))
                for attribute in (ITEM_RECORD, *entry.attribute_ids):
                    name = attribute_partition(attribute)
                    if name not in have:
                        client.create_partition(entry.collection, name, timeout=timeout)
            client.load_collection(entry.collection, timeout=timeout)
            self._loaded.add(entry.collection)

        await self._write(deadline, create)
        # Another gateway may have registered the version while the collection was being
        # built (a StartReindex marking it `building`): keep its entry rather than overwrite
        # it. Milvus has no conditional write, so this narrows the race to a read and a write.
        self._entries.pop(entry.model_version, None)
        registered = await self.entry(entry.model_version, deadline)
        if registered is not None:
            return registered
        await self._put_entry(entry, deadline)
        return entry

    async def set_state(
        self, model_version: str, state: str, deadline: float, source_version: str | None = None
    ) -> VersionEntry:
        entry = await self.entry(model_version, deadline)
        if entry is None:
            raise NotFound(f"the catalogue has no collection for model version {model_version!r}")
        updated = entry.with_state(state, source_version)
        await self._put_entry(updated, deadline)
        return updated

    async def drop_version(self, model_version: str, deadline: float) -> bool:
        entry = await self.entry(model_version, deadline)
        if entry is None:
            return False
        name = registry_name(self.settings.prefix)

        def drop(client: MilvusClient, timeout: float) -> None:
            client.delete(name, filter=_any_of("model_version", [model_version]), timeout=timeout)
            client.drop_collection(entry.collection, timeout=timeout)

        await self._write(deadline, drop)
        self._entries.pop(model_version, None)
        return True

    async def _put_entry(self, entry: VersionEntry, deadline: float) -> None:
        name = registry_name(self.settings.prefix)
        row = {"model_version": entry.model_version, "entry": entry.to_json(), "dummy": [0.0, 0.0]}

        def put(client: MilvusClient, timeout: float) -> None:
            client.upsert(name, [row], timeout=timeout)

        await self._write(deadline, put)
        self._entries[entry.model_version] = (time.monotonic(), entry)

    # -- items ----------------------------------------------------------------------------------
    async def upsert(
        self, entry: VersionEntry, records: Sequence[ItemRecord], deadline: float
    ) -> None:
        """Write items, replacing earlier versions of the same ids (rows of attributes an item no
        longer has are removed after the new rows are in, so a search never misses it)."""
        if not records:
            return
        latest = {record.item_id: record for record in records}  # the same id twice: the later
        stamp = now_ms()
        rows = [r for record in latest.values() for r in _rows(entry, record, stamp)]
        by_partition: dict[str | None, list[dict]] = {}
        for row in rows:
            partition = (
                attribute_partition(row["attribute"]) if entry.layout == "partition" else None
            )
            by_partition.setdefault(partition, []).append(row)
        record_keys = [row_key(item_id, ITEM_RECORD) for item_id in latest]

        def write(client: MilvusClient, timeout: float) -> None:
            before = client.query(
                entry.collection, filter=_any_of("pk", record_keys),
                output_fields=["item_id", "attributes"], timeout=timeout,
            )  # fmt: skip
            stale = [
                row_key(row["item_id"], int(a))
                for row in before
                for a in row["attributes"]
                if int(a) not in latest[row["item_id"]].attribute_ids
            ]
            for partition, part_rows in by_partition.items():
                if partition is None:
                    client.upsert(entry.collection, part_rows, timeout=timeout)
                else:
                    client.upsert(
                        entry.collection, part_rows, partition_name=partition, timeout=timeout
                    )
            if stale:  # rows of attributes the item no longer has, removed once the new are in
                client.delete(entry.collection, filter=_any_of("pk", stale), timeout=timeout)
            self._settle(client, entry, timeout)

        await self._write(deadline, write)

    async def delete(
        self, entry: VersionEntry, item_ids: Sequence[str], deadline: float
    ) -> list[str]:
        """Delete items (all their rows); returns the ids that existed."""
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            return []
        present = await self.existing(entry, ids, deadline)

        def delete(client: MilvusClient, timeout: float) -> None:
            client.delete(entry.collection, filter=_any_of("item_id", ids), timeout=timeout)
            self._settle(client, entry, timeout)

        await self._write(deadline, delete)
        return [i for i in ids if i in present]

    def _settle(self, client: MilvusClient, entry: VersionEntry, timeout: float) -> None:
        """Milvus Lite searches unflushed rows row by row in Python (about a second per 2,000
        rows, measured), but flushed segments through their index: flush after each write there.
        A server indexes its growing segments itself; flushing each batch would only fragment."""
        if self.settings.lite:
            client.flush(entry.collection, timeout=timeout)

    async def existing(
        self, entry: VersionEntry, item_ids: Sequence[str], deadline: float
    ) -> set[str]:
        keys = [row_key(i, ITEM_RECORD) for i in dict.fromkeys(item_ids)]

        def read(client: MilvusClient, timeout: float) -> list[dict]:
            return client.query(
                entry.collection, filter=_any_of("pk", keys), output_fields=["item_id"],
                timeout=timeout,
            )  # fmt: skip

        return {row["item_id"] for row in await self._run(deadline, read)}

    async def vectors(
        self, entry: VersionEntry, item_id: str, attribute_ids: Sequence[int], deadline: float
    ) -> dict[int, AttributeVector]:
        """The stored vectors of one item; NotFound for an unknown item or a missing attribute."""
        keys = [row_key(item_id, a) for a in (ITEM_RECORD, *attribute_ids)]
        fields = ["attribute", "roi", schema.VECTOR_FIELD]

        def read(client: MilvusClient, timeout: float) -> list[dict]:
            return client.query(
                entry.collection, filter=_any_of("pk", keys), output_fields=fields, timeout=timeout
            )

        rows = {int(r["attribute"]): r for r in await self._run(deadline, read)}
        if ITEM_RECORD not in rows:
            raise NotFound(
                f"item {item_id!r} is not in the catalogue of model version {entry.model_version!r}"
            )
        missing = [a for a in attribute_ids if a not in rows]
        if missing:
            raise NotFound(f"item {item_id!r} is not indexed for attribute id(s) {missing}")
        return {
            a: AttributeVector(a, _vector(rows[a][schema.VECTOR_FIELD]), _roi(rows[a]["roi"]))
            for a in attribute_ids
        }

    async def search(
        self,
        entry: VersionEntry,
        query: np.ndarray,
        attribute_id: int,
        top_k: int,
        expression: str,
        exclude_item: str,
        deadline: float,
    ) -> list[Hit]:
        """The top_k items by inner product for one attribute, best first."""
        clauses = [f"({expression})"] if expression else []
        if exclude_item:
            clauses.append(f"item_id != {quote(exclude_item)}")
        partitions = None
        if entry.layout == "partition":
            partitions = [attribute_partition(attribute_id)]
        else:
            clauses.insert(0, f"attribute == {int(attribute_id)}")
        search_params = {
            "metric_type": "IP",
            "params": self.settings.index.search_params_for(top_k),
        }
        vector = _engine_vector(query, entry.float16)

        def run(client: MilvusClient, timeout: float) -> list:
            return client.search(
                entry.collection,
                data=[vector],
                anns_field=schema.VECTOR_FIELD,
                limit=top_k,
                filter=" and ".join(clauses),
                output_fields=[*schema.OUTPUT_FIELDS, schema.VECTOR_FIELD],
                search_params=search_params,
                partition_names=partitions,
                timeout=timeout,
            )

        results = await self._run(deadline, run)
        hits = []
        for hit in results[0]:
            row = hit["entity"]
            hits.append(
                Hit(
                    item_id=row["item_id"],
                    image_sha256=row["image_sha256"],
                    metadata=_metadata(row),
                    roi=_roi(row["roi"]),
                    embedding=_vector(row[schema.VECTOR_FIELD]),
                    engine_score=float(hit["distance"]),
                )
            )
        return hits

    async def stats(self, entry: VersionEntry, deadline: float) -> VersionStats:
        def count(attribute: int) -> Callable[[MilvusClient, float], int]:
            partitions = [attribute_partition(attribute)] if entry.layout == "partition" else None

            def run(client: MilvusClient, timeout: float) -> int:
                rows = client.query(
                    entry.collection,
                    filter=f"attribute == {attribute}",
                    output_fields=["count(*)"],
                    partition_names=partitions,
                    timeout=timeout,
                )
                return int(rows[0]["count(*)"]) if rows else 0

            return run

        items = await self._run(deadline, count(ITEM_RECORD))
        per_attribute = {a: await self._run(deadline, count(a)) for a in entry.attribute_ids}
        return VersionStats(
            model_version=entry.model_version,
            collection=entry.collection,
            state=entry.state,
            items=items,
            rows_per_attribute=per_attribute,
            index_type=entry.index_type,
            vector_type="float16" if entry.float16 else "float32",
            layout=entry.layout,
            source_version=entry.source_version,
        )

    async def list_items(
        self, entry: VersionEntry, batch_timeout: float
    ) -> AsyncIterator[list[StoredItem]]:
        """Every item of a version, in batches (no vectors); each batch has its own deadline."""
        fields = [
            "item_id",
            "image_sha256",
            "category",
            "brand",
            "labels",
            "attributes",
            "updated_ms",
        ]
        partitions = [RECORD_PARTITION] if entry.layout == "partition" else None

        def open_iterator(client: MilvusClient, timeout: float) -> Any:
            return client.query_iterator(
                entry.collection,
                batch_size=_LIST_BATCH,
                filter=f"attribute == {ITEM_RECORD}",
                output_fields=fields,
                partition_names=partitions,
                timeout=timeout,
            )

        iterator = await self._run(time.monotonic() + batch_timeout, open_iterator)
        try:
            while True:
                rows = await self._run(
                    time.monotonic() + batch_timeout, lambda _c, _t: iterator.next()
                )
                if not rows:
                    return
                yield [
                    StoredItem(
                        item_id=r["item_id"],
                        image_sha256=r["image_sha256"],
                        metadata=_metadata(r),
                        attribute_ids=tuple(int(a) for a in r["attributes"]),
                        updated_ms=int(r["updated_ms"]),
                    )
                    for r in rows
                ]
        finally:
            with contextlib.suppress(Exception):
                iterator.close()


def entry_for(
    settings: CatalogueSettings,
    model_version: str,
    dim: int,
    global_dim: int,
    attribute_ids: Sequence[int],
    attribute_names: Sequence[str],
    state: str,
    source_version: str,
) -> VersionEntry:
    """The registry entry a new collection of this version gets under these settings."""
    return VersionEntry(
        model_version=model_version,
        collection=collection_name(settings.prefix, model_version),
        state=state,
        dim=dim,
        global_dim=global_dim,
        float16=settings.float16,
        layout=settings.layout,
        index_type=settings.index.index_type,
        attribute_ids=tuple(attribute_ids),
        attribute_names=tuple(attribute_names),
        source_version=source_version,
        updated_ms=now_ms(),
    )


def _rows(entry: VersionEntry, record: ItemRecord, stamp: int) -> Iterable[dict]:
    common = {
        "item_id": record.item_id,
        "image_sha256": record.image_sha256,
        "category": record.metadata.category,
        "brand": record.metadata.brand,
        "labels": dict(record.metadata.labels),
        "attributes": list(record.attribute_ids),
        "updated_ms": stamp,
    }
    zero = np.zeros(entry.dim, dtype=np.float32)
    yield {
        **common,
        "pk": row_key(record.item_id, ITEM_RECORD),
        "attribute": ITEM_RECORD,
        "roi": [0.0, 0.0, 0.0, 0.0],
        schema.VECTOR_FIELD: _engine_vector(zero, entry.float16),
    }
    for vector in record.vectors:
        yield {
            **common,
            "pk": row_key(record.item_id, vector.attribute_id),
            "attribute": vector.attribute_id,
            "roi": [float(v) for v in vector.roi],
            schema.VECTOR_FIELD: _engine_vector(vector.embedding, entry.float16),
        }


def _any_of(field: str, values: Sequence[str]) -> str:
    """`field in [...]` with every value escaped by `quote`. Never pymilvus' `ids=` for string
    keys: it wraps them in single quotes unescaped, so an item id such as `x','victim` would
    read, replace or delete another item's rows."""
    return f"{field} in [{', '.join(quote(v) for v in values)}]"


def _engine_vector(vector: np.ndarray, float16: bool) -> Any:
    if float16:
        return np.asarray(vector, dtype=np.float16)
    return np.asarray(vector, dtype=np.float32).tolist()


def _vector(value: Any) -> np.ndarray:
    if isinstance(value, bytes | bytearray):
        return np.frombuffer(value, dtype=np.float16).astype(np.float32)
    if isinstance(value, list) and value and isinstance(value[0], bytes | bytearray):
        return np.frombuffer(value[0], dtype=np.float16).astype(np.float32)
    return np.asarray(value, dtype=np.float32)


def _roi(value: Any) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = (float(v) for v in value)
    return (x0, y0, x1, y1)


def _metadata(row: dict) -> ItemMetadata:
    labels = row.get("labels") or {}
    return ItemMetadata(
        row.get("category", ""), row.get("brand", ""), {str(k): str(v) for k, v in labels.items()}
    )


__all__ = ["BUILDING", "READY", "CatalogueStore"]
