"""The engine layer on a real Milvus Lite: exact search, replace, delete, stats, listing, errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from asen_contract.errors import NotFound, Unavailable
from gateway.catalogue.items import AttributeVector, ItemMetadata, ItemRecord
from gateway.catalogue.registry import BUILDING, READY
from gateway.catalogue.settings import CatalogueSettings
from gateway.catalogue.store import CatalogueStore

from .conftest import soon

DIM, GLOBAL_DIM, ATTRIBUTES = 16, 8, (0, 1, 2)


def unit_rows(rng: np.random.Generator, count: int) -> np.ndarray:
    rows = rng.standard_normal((count, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def records(vectors: np.ndarray, attributes=ATTRIBUTES, prefix: str = "item") -> list[ItemRecord]:
    """vectors: [items, attributes, DIM]."""
    return [
        ItemRecord(
            f"{prefix}-{i}",
            f"{i:064x}",
            ItemMetadata(category="coat" if i % 2 else "dress", labels={"n": str(i)}),
            tuple(
                AttributeVector(a, vectors[i, k], (i, k, i + 10.0, k + 10.0))
                for k, a in enumerate(attributes)
            ),
        )
        for i in range(len(vectors))
    ]


async def test_search_is_exact_and_per_attribute(any_layout_store: CatalogueStore) -> None:
    store = any_layout_store
    rng = np.random.default_rng(1)
    vectors = unit_rows(rng, 60 * 3).reshape(60, 3, DIM)
    entry = await store.ensure_version("v1", DIM, GLOBAL_DIM, ATTRIBUTES, soon())
    assert entry.state == READY and entry.layout == store.settings.layout
    await store.upsert(entry, records(vectors), soon())
    query = unit_rows(rng, 1)[0]
    for k, attribute in enumerate(ATTRIBUTES):
        hits = await store.search(entry, query, attribute, 10, "", "", soon())
        expected = np.argsort(-(vectors[:, k] @ query), kind="stable")[:10]
        assert [h.item_id for h in hits] == [f"item-{i}" for i in expected]
        for hit, i in zip(hits, expected, strict=True):
            np.testing.assert_allclose(hit.embedding, vectors[i, k], rtol=0, atol=1e-7)
            assert hit.engine_score == pytest.approx(float(vectors[i, k] @ query), abs=1e-5)
            assert hit.roi == (i, k, i + 10.0, k + 10.0)
            assert hit.metadata.labels == {"n": str(i)}
    coats = await store.search(entry, query, 0, 60, 'category == "coat"', "item-1", soon())
    assert {h.item_id for h in coats} == {f"item-{i}" for i in range(3, 60, 2)}


async def test_reupsert_replaces_and_drops_attributes_no_longer_given(lite_store) -> None:
    store = lite_store
    rng = np.random.default_rng(2)
    entry = await store.ensure_version("v1", DIM, GLOBAL_DIM, ATTRIBUTES, soon())
    first = unit_rows(rng, 3 * 3).reshape(3, 3, DIM)
    await store.upsert(entry, records(first), soon())
    second = unit_rows(rng, 1).reshape(1, 1, DIM)
    replaced = records(second, attributes=(1,))[0]
    await store.upsert(entry, [replaced], soon())
    stored = await store.vectors(entry, "item-0", [1], soon())
    np.testing.assert_allclose(stored[1].embedding, second[0, 0], atol=1e-7)
    with pytest.raises(NotFound, match="not indexed for attribute id"):
        await store.vectors(entry, "item-0", [0], soon())
    hits = await store.search(entry, first[0, 0], 0, 10, "", "", soon())
    assert "item-0" not in {h.item_id for h in hits}
    stats = await store.stats(entry, soon())
    assert stats.items == 3
    assert stats.rows_per_attribute == {0: 2, 1: 3, 2: 2}


async def test_delete_reports_what_existed_and_listing_sees_the_rest(lite_store) -> None:
    store = lite_store
    rng = np.random.default_rng(3)
    entry = await store.ensure_version("v1", DIM, GLOBAL_DIM, ATTRIBUTES, soon())
    await store.upsert(entry, records(unit_rows(rng, 5 * 3).reshape(5, 3, DIM)), soon())
    deleted = await store.delete(entry, ["item-1", "nope", "item-1", "item-3"], soon())
    assert deleted == ["item-1", "item-3"]
    with pytest.raises(NotFound, match="item 'item-1' is not in the catalogue"):
        await store.vectors(entry, "item-1", [0], soon())
    listed = [item async for batch in store.list_items(entry, 30) for item in batch]
    assert sorted(i.item_id for i in listed) == ["item-0", "item-2", "item-4"]
    assert all(i.attribute_ids == ATTRIBUTES for i in listed)
    assert {i.item_id: i.image_sha256 for i in listed}["item-2"] == f"{2:064x}"


async def test_versions_are_separate_collections_with_a_build_state(lite_store) -> None:
    store = lite_store
    rng = np.random.default_rng(4)
    old = await store.ensure_version("old", DIM, GLOBAL_DIM, ATTRIBUTES, soon())
    new = await store.ensure_version(
        "new", DIM, GLOBAL_DIM, ATTRIBUTES, soon(), state=BUILDING, source_version="old"
    )
    assert old.collection != new.collection and new.state == BUILDING
    await store.upsert(old, records(unit_rows(rng, 2 * 3).reshape(2, 3, DIM)), soon())
    assert (await store.stats(new, soon())).items == 0
    ready = await store.set_state("new", READY, soon())
    assert ready.state == READY and ready.source_version == "old"
    assert [e.model_version for e in await store.entries(soon())] == ["new", "old"]
    assert await store.drop_version("new", soon())
    assert await store.entry("new", soon()) is None


_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    import numpy as np
    from gateway.catalogue.settings import CatalogueSettings
    from gateway.catalogue.store import CatalogueStore
    from tests.catalogue.conftest import soon
    from tests.catalogue.test_cat_store import ATTRIBUTES, DIM, GLOBAL_DIM, records, unit_rows

    async def write(path):
        store = CatalogueStore(CatalogueSettings(uri=path))
        entry = await store.ensure_version("v1", DIM, GLOBAL_DIM, ATTRIBUTES, soon())
        vectors = unit_rows(np.random.default_rng(5), 10 * 3).reshape(10, 3, DIM)
        await store.upsert(entry, records(vectors), soon())
        await store.close()

    asyncio.run(write(sys.argv[1]))
    """
)


async def test_a_lite_file_opened_by_a_new_process_is_searchable(tmp_path: Path) -> None:
    """Found by the soak: a restarted gateway opened its Milvus Lite file with every collection
    released (Lite keeps no load state across processes) and answered every search UNAVAILABLE
    ("call load() before search"). The store now loads a version's collection when it first
    reads its entry. The writer must be another process: in one process Lite keeps its server."""
    path = str(tmp_path / "catalogue.db")
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", _WRITER, path], cwd=root, check=True, timeout=300)
    vectors = unit_rows(np.random.default_rng(5), 10 * 3).reshape(10, 3, DIM)
    store = CatalogueStore(CatalogueSettings(uri=path))
    try:
        entry = await store.entry("v1", soon())
        assert entry is not None
        hits = await store.search(entry, vectors[4, 1], ATTRIBUTES[1], 3, "", "", soon())
        assert hits[0].item_id == "item-4"
        [listed] = await store.entries(soon())
        assert (await store.stats(listed, soon())).items == 10
    finally:
        await store.close()


async def test_an_unreachable_server_is_unavailable(tmp_path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = CatalogueStore(CatalogueSettings(uri=f"http://127.0.0.1:{port}", timeout_seconds=2))
    try:
        with pytest.raises(Unavailable, match="catalogue engine"):
            await store.entry("v1", soon())
    finally:
        await store.close()
