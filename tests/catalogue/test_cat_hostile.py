"""A hostile caller against the catalogue on a real Milvus Lite: ids, metadata and filter values
that try to escape their quotes, the largest filters and metadata the limits allow. Each test
reproduced a defect before its fix (see the commit that added it)."""

from __future__ import annotations

import numpy as np
import pytest

from asen_contract.errors import LimitExceeded, NotFound
from gateway.catalogue.filters import Condition, Op, check_filter, to_engine_expression
from gateway.catalogue.identifiers import check_item_id
from gateway.catalogue.items import AttributeVector, ItemMetadata, ItemRecord
from gateway.catalogue.metadata import check_metadata
from gateway.catalogue.store import CatalogueStore

from .conftest import soon

DIM, GLOBAL_DIM = 8, 4


def record(item_id: str, attributes=(0, 1), seed: int = 0, **metadata) -> ItemRecord:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((len(attributes), DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return ItemRecord(
        item_id,
        f"{seed:064x}",
        ItemMetadata(**metadata),
        tuple(
            AttributeVector(a, v, (0.0, 0.0, 1.0, 1.0))
            for a, v in zip(attributes, vectors, strict=True)
        ),
    )


# Printable ids a caller may send: quotes of both kinds, backslashes, and ids that close the
# engine's string literal and name another item's row.
HOSTILE_IDS = [
    "it's",
    'say "hi"',
    "back\\slash",
    "trailing\\",
    "x','victim",
    'x","victim',
    "x'] or pk != ['",
    "\\'",
]


@pytest.mark.parametrize("item_id", HOSTILE_IDS)
async def test_ids_with_quotes_are_stored_found_replaced_and_deleted_alone(
    lite_store: CatalogueStore, item_id: str
) -> None:
    store = lite_store
    entry = await store.ensure_version("v1", DIM, GLOBAL_DIM, [0, 1], soon())
    await store.upsert(entry, [record("victim", seed=1)], soon())
    await store.upsert(entry, [record(item_id, seed=2)], soon())
    assert set(await store.vectors(entry, item_id, [0, 1], soon())) == {0, 1}
    assert await store.existing(entry, [item_id], soon()) == {item_id}
    # re-upserted with one attribute fewer: its own attribute-0 row goes, nobody else's
    await store.upsert(entry, [record(item_id, attributes=(1,), seed=2)], soon())
    with pytest.raises(NotFound):
        await store.vectors(entry, item_id, [0], soon())
    assert set(await store.vectors(entry, "victim", [0, 1], soon())) == {0, 1}
    assert await store.delete(entry, [item_id], soon()) == [item_id]
    assert await store.existing(entry, [item_id, "victim"], soon()) == {"victim"}
    assert set(await store.vectors(entry, "victim", [0, 1], soon())) == {0, 1}


async def test_a_model_version_with_quotes_is_its_own(lite_store: CatalogueStore) -> None:
    store = lite_store
    await store.ensure_version("plain", DIM, GLOBAL_DIM, [0], soon())
    hostile = "v'] or model_version != ['"
    assert await store.entry(hostile, soon()) is None
    entry = await store.ensure_version(hostile, DIM, GLOBAL_DIM, [0], soon())
    assert (await store.entry(hostile, soon())).collection == entry.collection
    assert await store.drop_version(hostile, soon())
    assert await store.entry("plain", soon()) is not None


def test_a_structured_filter_is_bounded_like_the_text_form() -> None:
    """The structured filter took 16 conditions x 256 values of 256 characters: a 1.1 MB engine
    expression that Milvus Lite took 8 s to apply to 50 rows (holding an engine thread) - the
    text form stops at 8,192 characters. Both are bounded in values and characters in all."""
    long_values = tuple("v" * 250 + str(n) for n in range(256))
    huge = [Condition(f"labels.k{j}", Op.NOT_IN, long_values) for j in range(16)]
    with pytest.raises(LimitExceeded, match="values in all"):
        check_filter(huge)
    many = [Condition(f"labels.k{j}", Op.IN, tuple(str(n) for n in range(20))) for j in range(16)]
    with pytest.raises(LimitExceeded, match="320 values in all; the limit is 256"):
        check_filter(many)
    wide = [Condition("category", Op.IN, tuple("c" * 250 + str(n) for n in range(40)))]
    with pytest.raises(LimitExceeded, match="characters of values in all"):
        check_filter(wide)
    fits = [Condition(f"labels.k{j}", Op.IN, tuple(str(n) for n in range(16))) for j in range(16)]
    assert len(to_engine_expression(check_filter(fits))) < 40_000


@pytest.mark.parametrize(
    ("check", "what"),
    [
        (lambda v: check_metadata(v, "", {}), "category"),
        (lambda v: check_metadata("", v, {}), "brand"),
        (lambda v: check_metadata("", "", {"season": v}), "label 'season'"),
        (lambda v: check_item_id(v), "item_id"),
    ],
)
def test_lengths_are_the_engines_utf8_bytes(check, what) -> None:
    """Milvus' VARCHAR max_length counts UTF-8 bytes: 100 CJK characters (300 bytes) passed the
    gateway's 256-character check and then failed the whole write batch on a Milvus server (the
    other items of the batch with it, reported UNAVAILABLE). Milvus Lite does not enforce the
    byte limit, so that failure could not be run here; the check is what is tested."""
    with pytest.raises(LimitExceeded, match="300 bytes"):
        check("界" * 100)
    check("界" * 85)  # 255 bytes


async def test_multibyte_values_at_the_limit_are_stored_intact(lite_store: CatalogueStore):
    entry = await lite_store.ensure_version("v1", DIM, GLOBAL_DIM, [0, 1], soon())
    item_id = "界" * 85
    metadata = {"category": "é" * 128, "brand": "😀" * 64, "labels": {"k": "ß" * 128}}
    await lite_store.upsert(entry, [record(item_id, seed=3, **metadata)], soon())
    listed = [i async for batch in lite_store.list_items(entry, 30) for i in batch]
    assert [(i.item_id, i.metadata) for i in listed] == [(item_id, ItemMetadata(**metadata))]


async def test_index_build_parameters_reach_milvus_lite(tmp_path) -> None:
    """pymilvus 3 sends build parameters as separate key/value pairs; Milvus Lite reads only a
    JSON `params` pair, so every ASEN_CATALOGUE_INDEX_PARAMS was silently dropped on Lite (IVF
    always built 128 lists). One list (nlist 1) searched with nprobe 1 is exact search; with the
    parameters dropped, nprobe 1 visited 1 of 64 lists and missed most neighbours."""
    from gateway.catalogue.settings import CatalogueSettings

    settings = CatalogueSettings(
        uri=str(tmp_path / "ivf.db"),
        index_type="IVF_FLAT",
        index_params='{"nlist": 1}',
        search_params='{"nprobe": 1}',
    )
    store = CatalogueStore(settings)
    try:
        entry = await store.ensure_version("v1", DIM, GLOBAL_DIM, [0], soon())
        items = [record(f"i{n}", attributes=(0,), seed=n) for n in range(64)]
        await store.upsert(entry, items, soon())
        matrix = np.stack([r.vectors[0].embedding for r in items])
        for query in matrix[:8]:
            exact = [f"i{n}" for n in np.argsort(-(matrix @ query), kind="stable")[:10]]
            hits = await store.search(entry, query, 0, 10, "", "", soon())
            assert {h.item_id for h in hits} == set(exact)
    finally:
        await store.close()


async def test_one_search_is_bounded_in_results_across_attributes(tmp_path, monkeypatch) -> None:
    """Each result brings its stored vector into the gateway (for the global/local parts): 16
    attributes x top_k 1000 of 2,048-d vectors was ~16,000 vectors per request (measured +63 MB
    resident and 8 s for one attribute at top_k 1000 on Milvus Lite), so a handful of such calls
    could exhaust the gateway's memory. attributes x top_k is held to ASEN_CATALOGUE_MAX_TOP_K."""
    import grpc

    from gateway.generated.asen.v1 import similarity_pb2 as pb
    from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc

    from ..gateway.gw_support import INFO, ScriptedBackend, image_bytes, running_gateway

    settings = {"catalogue_uri": str(tmp_path / "c.db"), "catalogue_max_top_k": 10}
    async with (
        running_gateway(**settings) as gateway,
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel,
    ):
        backend = ScriptedBackend()
        monkeypatch.setattr(type(gateway.pool), "model_info", property(lambda self: INFO))
        monkeypatch.setattr(gateway.pool, "infer", backend.infer)
        stub = pb_grpc.FashionSimilarityStub(channel)
        image = pb.ImageRef(data=image_bytes(1))
        both = ["collar", "sleeve"]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.SearchItems(pb.SearchItemsRequest(image=image, attributes=both, top_k=6))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "2 attributes x top_k 6 = 12 results" in refused.value.details()
        found = await stub.SearchItems(pb.SearchItemsRequest(image=image, attributes=both, top_k=5))
        assert [r.attribute for r in found.results] == both


async def test_a_reindex_started_while_another_gateway_creates_the_version_stays_building(
    lite_server,
) -> None:
    """Two gateways of a new model version on one Milvus: one's first UpsertItems creates the
    version's collection (ready) while the other's StartReindex creates it as building. The
    plain creation wrote its `ready` entry over the reindex's `building` one, so searches were
    served from a half-built catalogue. The interleaving is forced: the reindex acts while the
    plain creation is building the collection."""
    from gateway.catalogue.registry import BUILDING
    from gateway.catalogue.settings import CatalogueSettings

    def store() -> CatalogueStore:
        settings = CatalogueSettings(
            uri=lite_server.uri, index_type="FLAT", vector_type="float32", prefix="race"
        )
        return CatalogueStore(settings)

    plain, reindex = store(), store()
    try:
        original = plain._write

        async def write_then_reindex(deadline, call):
            result = await original(deadline, call)
            if call.__name__ == "create":  # the collection is there, plain's entry is not yet
                await reindex.ensure_version(
                    "new", DIM, GLOBAL_DIM, [0], soon(), state=BUILDING, source_version="old"
                )
            return result

        plain._write = write_then_reindex
        await plain.ensure_version("new", DIM, GLOBAL_DIM, [0], soon())
        reindex._entries.clear()
        assert (await reindex.entry("new", soon())).state == BUILDING
    finally:
        await plain.close()
        await reindex.close()
