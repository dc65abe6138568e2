"""The domain core without gRPC: Embed, Compare, Rank, ListAttributes and EmbedStream on plain
Python values, against a scripted stand-in for the Triton pool and the in-process cache; and
the one mapping of error kinds to gRPC status codes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from asen_contract.errors import (
    Cancelled,
    ConfigError,
    DeadlineExceeded,
    ImageError,
    InvalidInput,
    LimitExceeded,
    NotFound,
    Overloaded,
    Unavailable,
)
from gateway.api.status import INTERNAL_MESSAGE, status_of
from gateway.cache.memory_cache import MemoryCache
from gateway.core.embedder import Embedder
from gateway.core.images import ImageRef
from gateway.core.scoring import score
from gateway.core.service import EmbedQuery, SimilarityService

from .gw_support import INFO, ScriptedBackend, image_bytes, sample


def _core(max_candidates: int = 4) -> tuple[SimilarityService, ScriptedBackend]:
    backend = ScriptedBackend()
    embedder = Embedder(backend, MemoryCache(100, 60))
    return SimilarityService(backend, embedder, max_candidates), backend


def _deadline() -> float:
    return time.monotonic() + 10


def _image(seed: int) -> ImageRef:
    return ImageRef(data=image_bytes(seed))


async def test_model_and_unavailable_without_one() -> None:
    core, backend = _core()
    assert core.model() is INFO
    backend.model_info = None
    with pytest.raises(Unavailable):
        core.model()
    with pytest.raises(Unavailable):
        await core.compare(_image(1), _image(2), (), _deadline())


async def test_embed_returns_the_asked_attributes_in_order() -> None:
    core, backend = _core()
    result = await core.embed(EmbedQuery(_image(1), ("sleeve", "collar")), _deadline())
    assert list(result.embeddings) == ["sleeve", "collar"]
    assert result.model_version == "v-test" and len(result.image_sha256) == 64
    assert not result.embeddings["collar"].cached
    again = await core.embed(EmbedQuery(ImageRef(sha256=result.image_sha256)), _deadline())
    assert all(e.cached for e in again.embeddings.values())
    assert len(backend.calls) == 1
    with_attention = await core.embed(EmbedQuery(_image(1), ("collar",), True), _deadline())
    assert with_attention.embeddings["collar"].attention is not None
    with pytest.raises(InvalidInput, match="needs the image bytes"):
        by_ref = ImageRef(sha256=result.image_sha256)
        await core.embed(EmbedQuery(by_ref, (), True), _deadline())


async def test_compare_scores_the_two_embeddings() -> None:
    core, _ = _core()
    a, b = _image(1), _image(2)
    compared = await core.compare(a, b, (), _deadline())
    assert [s.attribute for s in compared.scores] == ["collar", "sleeve"]
    first = await core.embed(EmbedQuery(a), _deadline())
    second = await core.embed(EmbedQuery(b), _deadline())
    for s in compared.scores:
        va, vb = first.embeddings[s.attribute].embedding, second.embeddings[s.attribute].embedding
        assert s.similarity == pytest.approx(float(va @ vb), rel=1e-5)
        expected = score(va, vb[None], INFO.global_dim)
        assert s.global_similarity == pytest.approx(float(expected.global_part[0]), rel=1e-5)
    assert compared.a_sha256 == first.image_sha256


async def test_rank_orders_and_cuts_candidates() -> None:
    core, _ = _core(max_candidates=4)
    query, candidates = _image(1), [_image(10 + i) for i in range(4)]
    ranked = await core.rank(query, "collar", candidates, 0, _deadline())
    similarities = [r.similarity for r in ranked.results]
    assert similarities == sorted(similarities, reverse=True)
    assert sorted(r.index for r in ranked.results) == [0, 1, 2, 3]
    top = await core.rank(query, "collar", candidates, 2, _deadline())
    assert [r.index for r in top.results] == [r.index for r in ranked.results[:2]]


@pytest.mark.parametrize(
    "call, kind, fragment",
    [
        (lambda c: c.rank(_image(1), "", [_image(2)], 0, _deadline()), InvalidInput, "attribute"),
        (lambda c: c.rank(_image(1), "collar", [], 0, _deadline()), InvalidInput, "candidate"),
        (
            lambda c: c.rank(_image(1), "collar", [_image(2)] * 5, 0, _deadline()),
            LimitExceeded,
            "limit is 4",
        ),
        (lambda c: c.compare(_image(1), ImageRef(), (), _deadline()), InvalidInput, "image b"),
        (
            lambda c: c.compare(_image(1), _image(2), ("pocket",), _deadline()),
            InvalidInput,
            "'pocket'",
        ),
        (
            lambda c: c.compare(ImageRef(sha256="0" * 64), _image(2), (), _deadline()),
            NotFound,
            "send the image bytes",
        ),
        (
            lambda c: c.embed(EmbedQuery(ImageRef(data=b"junk")), _deadline()),
            ImageError,
            "decodable",
        ),
        (
            lambda c: c.embed(EmbedQuery(_image(1)), time.monotonic() - 1),
            DeadlineExceeded,
            "deadline",
        ),
    ],
)
async def test_bad_requests_raise_their_kind(call, kind, fragment) -> None:
    core, _ = _core()
    with pytest.raises(kind, match=fragment):
        await call(core)


async def test_embed_stream_keeps_order_and_reports_bad_items() -> None:
    core, _ = _core()
    images = [_image(1), ImageRef(data=b"junk"), _image(2), ImageRef()]

    async def queries() -> AsyncIterator[EmbedQuery]:
        for image in images:
            yield EmbedQuery(image, ("collar",))

    items = [item async for item in core.embed_stream(queries(), 2, _deadline, 10.0)]
    assert [item.index for item in items] == [0, 1, 2, 3]
    assert isinstance(items[1].error, ImageError) and isinstance(items[3].error, InvalidInput)
    assert items[0].result is not None and items[2].result is not None
    assert items[0].result.image_sha256 != items[2].result.image_sha256


@pytest.mark.parametrize(
    "error, code",
    [
        (InvalidInput("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (ImageError("x"), grpc.StatusCode.INVALID_ARGUMENT),
        (LimitExceeded("x"), grpc.StatusCode.INVALID_ARGUMENT),  # the caller's limit
        (NotFound("x"), grpc.StatusCode.NOT_FOUND),
        (Unavailable("x"), grpc.StatusCode.UNAVAILABLE),
        (Overloaded("x"), grpc.StatusCode.RESOURCE_EXHAUSTED),  # the server's capacity
        (DeadlineExceeded("x"), grpc.StatusCode.DEADLINE_EXCEEDED),
        (Cancelled("x"), grpc.StatusCode.CANCELLED),
    ],
)
def test_each_error_kind_has_one_status(error: Exception, code: grpc.StatusCode) -> None:
    status = status_of(error)
    assert status.code == code and status.message == "x" and status.expected


@pytest.mark.parametrize("error", [ValueError("secret detail"), ConfigError("bad setting")])
def test_anything_else_is_internal_without_details(error: Exception) -> None:
    status = status_of(error)
    assert status.code == grpc.StatusCode.INTERNAL and status.message == INTERNAL_MESSAGE
    assert not status.expected


async def test_unknown_attribute_names_are_counted_and_quoted_briefly() -> None:
    core, _ = _core()
    before = sample("asen_gateway_unknown_attributes_total")
    names = ["x" * 1_000_000, "pocket", "hood", "belt", "collar"]
    with pytest.raises(InvalidInput) as caught:
        await core.embed(EmbedQuery(_image(1), names), _deadline())
    message = str(caught.value)
    assert len(message) < 300
    assert "'pocket'" in message and "and 1 more" in message and "known: collar, sleeve" in message
    assert sample("asen_gateway_unknown_attributes_total") == before + 4


async def test_an_idle_stream_ends_and_a_slow_one_has_no_overall_deadline() -> None:
    core, backend = _core()
    backend.delay = 0.05

    async def silent() -> AsyncIterator[EmbedQuery]:
        await asyncio.sleep(3600)
        yield EmbedQuery(_image(1))

    with pytest.raises(DeadlineExceeded, match="idle"):
        async for _ in core.embed_stream(silent(), 2, _deadline, idle_timeout=0.2):
            pass

    async def slow() -> AsyncIterator[EmbedQuery]:
        for seed in range(6):
            await asyncio.sleep(0.1)  # 0.6 s in all, the per-item timeout is 0.3 s
            yield EmbedQuery(_image(seed), ("collar",))

    def per_item() -> float:
        return time.monotonic() + 0.3

    items = [i async for i in core.embed_stream(slow(), 2, per_item, idle_timeout=0.2)]
    assert [i.error for i in items] == [None] * 6
