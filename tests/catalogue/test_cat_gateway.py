"""UpsertItems, SearchItems, DeleteItems, CatalogueStats through the real gateway: real
tritonserver (small untrained ASEN++), `python -m gateway`, a real Milvus Lite server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from asen.client import AsenClient, CatalogueItem, ClientError, ItemRef, Sha256Ref

from ..gateway.gw_support import image_bytes
from .conftest import ATTRIBUTES, catalogue_env, served_gateway

COUNT = 12


@dataclass
class Stack:
    client: AsenClient
    images: list[bytes]
    gateway: object
    triton: object


@pytest.fixture(scope="module")
def stack(model_v1, lite_server, tmp_path_factory) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("logs")
    env = catalogue_env(
        lite_server.uri, ASEN_CATALOGUE_PREFIX="gw", ASEN_REQUEST_TIMEOUT_SECONDS="1"
    )
    with served_gateway(model_v1, logs, env) as (triton, gateway):
        client = AsenClient(gateway.address, timeout=60)
        images = [image_bytes(seed, (72, 64)) for seed in range(COUNT)]
        items = [
            CatalogueItem(
                f"item-{i}",
                data,
                category="coat" if i % 2 else "dress",
                brand="acme",
                labels={"season": "ss24" if i < 6 else "aw24"},
            )
            for i, data in enumerate(images)
        ]
        results = list(client.upsert_items(items))
        assert all(r.ok for r in results), results
        yield Stack(client, images, gateway, triton)
        client.close()


def test_upsert_results_come_in_order_and_index_every_attribute(stack) -> None:
    stats = stack.client.catalogue_stats()
    served = [v for v in stats.versions if v.serving]
    assert len(served) == 1 and served[0].state == "ready" and served[0].index_type == "FLAT"
    assert served[0].items == COUNT
    assert served[0].items_per_attribute == {name: COUNT for name in ATTRIBUTES}
    assert stats.engine == "milvus"


def test_search_by_image_equals_rank_over_the_catalogue(stack) -> None:
    """The served search and Rank over the same images agree on order and similarities."""
    query = image_bytes(99, (72, 64))
    found = stack.client.search_items(query, ["collar_design"], top_k=COUNT)
    ranked = stack.client.rank(query, "collar_design", stack.images)
    hits = found.results["collar_design"].results
    assert [h.item_id for h in hits] == [f"item-{r.index}" for r in ranked.results]
    for hit, r in zip(hits, ranked.results, strict=True):
        assert hit.similarity == pytest.approx(r.similarity, abs=1e-5)
        assert hit.global_similarity == pytest.approx(r.global_similarity, abs=1e-5)
        assert hit.local_similarity == pytest.approx(r.local_similarity, abs=1e-5)
    assert found.model_version == ranked.model_version
    assert found.query_sha256 == ranked.query_sha256


def test_search_by_item_filters_and_several_attributes(stack) -> None:
    result = stack.client.search_items(
        ItemRef("item-3"),
        ["collar_design", "lapel_design"],
        top_k=COUNT,
        filter_expression='category == "coat" and labels.season in ["ss24"]',
        exclude_query_item=True,
    )
    assert list(result.results) == ["collar_design", "lapel_design"]
    for group in result.results.values():
        assert {h.item_id for h in group.results} == {"item-1", "item-5"}
        assert all(h.metadata.category == "coat" for h in group.results)
        scores = [h.similarity for h in group.results]
        assert scores == sorted(scores, reverse=True)
    roi = result.results["collar_design"].query_roi
    assert roi[2] > roi[0] and roi[3] > roi[1]


@pytest.mark.parametrize(
    ("call", "code", "words"),
    [
        (lambda c: c.search_items(ItemRef("nope"), ["collar_design"], 5), "NOT_FOUND", "nope"),
        (lambda c: c.search_items(ItemRef("item-1"), ["collar_design"], 51), "INVALID_ARGUMENT",
         "limit of 50"),
        (lambda c: c.search_items(ItemRef("item-1"), ["collar_design"], 0), "INVALID_ARGUMENT",
         "top_k"),
        (lambda c: c.search_items(ItemRef("item-1"), [], 5), "INVALID_ARGUMENT", "attribute"),
        (lambda c: c.search_items(ItemRef("item-1"), ["colour"], 5), "INVALID_ARGUMENT",
         "colour"),
        (lambda c: c.search_items(ItemRef("item-1"), ["collar_design"], 5, "brand = 'x'"),
         "INVALID_ARGUMENT", "column 7"),
        (lambda c: c.search_items(ItemRef("item-1"), ["collar_design"], 5, "price == '1'"),
         "INVALID_ARGUMENT", "unknown field"),
        (lambda c: c.search_items(Sha256Ref("ab" * 32), ["collar_design"], 5), "NOT_FOUND",
         "cached"),
        (lambda c: c.delete_items([]), "INVALID_ARGUMENT", "at least one"),
        (lambda c: c.delete_items(["x\ny"]), "INVALID_ARGUMENT", "control"),
    ],
)  # fmt: skip
def test_bad_requests_get_clear_errors(stack, call, code, words) -> None:
    with pytest.raises(ClientError) as caught:
        call(stack.client)
    assert caught.value.code == code
    assert words in caught.value.details


def test_bad_items_are_item_errors_and_the_stream_goes_on(stack) -> None:
    items = [
        CatalogueItem("", stack.images[0]),
        CatalogueItem("bad-image", b"not an image"),
        CatalogueItem("bad-label", stack.images[0], labels={"has space": "x"}),
        CatalogueItem("bad-attribute", stack.images[0], attributes=("colour",)),
        CatalogueItem("unknown-digest", Sha256Ref("cd" * 32)),
        CatalogueItem("by-digest", Sha256Ref(_sha256(stack.images[4])), category="copy"),
    ]
    results = list(stack.client.upsert_items(items))
    assert [r.index for r in results] == list(range(len(items)))
    codes = [r.error_code for r in results]
    assert codes == [
        "INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT", "INVALID_ARGUMENT",
        "NOT_FOUND", "",
    ]  # fmt: skip
    assert results[-1].cached, "an image already embedded costs no Triton call"
    stored = stack.client.search_items(ItemRef("by-digest"), ["sleeve_length"], top_k=1)
    assert stored.results["sleeve_length"].results[0].item_id in ("by-digest", "item-4")
    assert stack.client.delete_items(["by-digest"]).deleted == ["by-digest"]


def test_reupsert_replaces_and_duplicate_ids_keep_the_later(stack) -> None:
    a, b = stack.images[7], stack.images[8]
    items = [
        CatalogueItem("dup", a, category="first"),
        CatalogueItem("dup", b, category="second", attributes=("collar_design",)),
    ]
    results = list(stack.client.upsert_items(items))
    assert all(r.ok for r in results) and results[1].cached
    hit = stack.client.search_items(b, ["collar_design"], top_k=COUNT + 1).results["collar_design"]
    dup = next(h for h in hit.results if h.item_id == "dup")
    assert dup.metadata.category == "second" and dup.image_sha256 == _sha256(b)
    with pytest.raises(ClientError, match="NOT_FOUND"):
        stack.client.search_items(ItemRef("dup"), ["sleeve_length"], top_k=1)
    deleted = stack.client.delete_items(["dup", "dup", "never-there"])
    assert (deleted.deleted, deleted.not_found) == (["dup"], ["never-there"])
    remaining = stack.client.search_items(b, ["collar_design"], top_k=COUNT + 1)
    assert "dup" not in {h.item_id for h in remaining.results["collar_design"].results}


def test_a_long_stream_is_not_cut_by_the_call_deadline(stack) -> None:
    """ASEN_REQUEST_TIMEOUT_SECONDS is 1 s here; the stream takes longer, each item has its own
    deadline, so every item is indexed."""

    def slow_items() -> Iterator[CatalogueItem]:
        for i in range(30):
            time.sleep(0.1)
            yield CatalogueItem(f"slow-{i}", stack.images[i % COUNT])

    started = time.monotonic()
    results = list(stack.client.upsert_items(slow_items()))
    assert time.monotonic() - started > 2.5
    assert len(results) == 30 and all(r.ok for r in results)
    deleted = stack.client.delete_items([f"slow-{i}" for i in range(30)])
    assert len(deleted.deleted) == 30


def test_an_unreachable_engine_is_unavailable_never_a_partial_answer(
    model_v1, tmp_path_factory
) -> None:
    from asen.triton.ports import free_port

    logs = tmp_path_factory.mktemp("logs-down")
    env = catalogue_env(f"http://127.0.0.1:{free_port()}", ASEN_CATALOGUE_TIMEOUT_SECONDS="2")
    with (
        served_gateway(model_v1, logs, env) as (_triton, gateway),
        AsenClient(gateway.address, timeout=30) as client,
    ):
        image = image_bytes(5, (72, 64))
        with pytest.raises(ClientError) as caught:
            client.search_items(image, ["collar_design"], top_k=3)
        assert caught.value.code == "UNAVAILABLE" and "catalogue engine" in caught.value.details
        results = list(client.upsert_items([CatalogueItem("x", image)]))
        assert results[0].error_code == "UNAVAILABLE"
        with pytest.raises(ClientError, match="UNAVAILABLE"):
            client.catalogue_stats()
        assert client.compare(image, image, ["collar_design"]).scores  # the rest still serves


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_embedding_is_the_served_one(stack) -> None:
    """What is stored for an item is the gateway's embedding of its image (Embed)."""
    embedded = stack.client.embed(stack.images[2], ["lapel_design"]).embeddings["lapel_design"]
    found = stack.client.search_items(stack.images[2], ["lapel_design"], top_k=1)
    best = found.results["lapel_design"].results[0]
    assert best.item_id == "item-2"
    assert best.similarity == pytest.approx(float(embedded.vector @ embedded.vector), abs=1e-5)
    assert np.allclose(best.roi, embedded.roi, atol=1e-3)
