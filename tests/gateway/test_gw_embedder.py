"""The embedder's own logic with a scripted stand-in for the Triton pool (unit level: the real
tritonserver path is covered by test_gw_integration.py): single-flight, one row per image with
all its attributes, batching, and pinning a bad image down inside a batch."""

from __future__ import annotations

import asyncio
import hashlib
import time

import grpc
import numpy as np
import pytest

from asen_contract.model_info import AttributeSpec, ModelInfo
from gateway.cache.memory_cache import MemoryCache
from gateway.embedder import Embedder
from gateway.errors import GatewayError, invalid
from gateway.images import ImageInput
from gateway.triton_pool import InferOutput

from .gw_support import image_bytes

INFO = ModelInfo(
    model_version="v-test",
    attributes=(AttributeSpec(0, "collar", 2, ()), AttributeSpec(1, "sleeve", 2, ())),
    beta=0.6,
    global_dim=2,
    embedding_dim=4,
    max_image_pixels=0,
    max_batch_size=2,
)


class ScriptedPool:
    """Returns a deterministic embedding per (image, attribute); records every call."""

    def __init__(self, delay: float = 0.0, reject: bytes | None = None) -> None:
        self.calls: list[tuple[int, list[list[int]]]] = []
        self.delay = delay
        self.reject = reject

    async def infer(self, images, attribute_ids, version, want_attention, timeout):
        self.calls.append((len(images), attribute_ids))
        await asyncio.sleep(self.delay)
        if self.reject is not None and self.reject in images:
            raise invalid("corrupt image")
        k = len(attribute_ids[0])
        embeddings = np.zeros((len(images), k, 4), dtype=np.float32)
        for b, data in enumerate(images):
            seed = int(hashlib.sha256(data).hexdigest()[:8], 16)
            for j, attribute in enumerate(attribute_ids[b]):
                embeddings[b, j] = np.random.default_rng(seed + attribute).normal(size=4)
        rois = np.tile(np.arange(4, dtype=np.float32), (len(images), k, 1))
        return InferOutput(embeddings, rois, None, version)


def _deadline() -> float:
    return time.monotonic() + 10


async def test_concurrent_misses_of_one_key_cost_one_call() -> None:
    pool = ScriptedPool(delay=0.05)
    embedder = Embedder(pool, MemoryCache(100, 60))
    image = ImageInput.from_bytes(image_bytes(1), "a")
    results = await asyncio.gather(
        *(embedder.embed(INFO, [image], [INFO.attributes[0]], _deadline()) for _ in range(8))
    )
    assert len(pool.calls) == 1
    vectors = {r[0]["collar"].embedding.tobytes() for r in results}
    assert len(vectors) == 1
    assert sum(not r[0]["collar"].cached for r in results) == 1


async def test_several_attributes_of_an_image_are_one_row_and_then_cached() -> None:
    pool = ScriptedPool()
    embedder = Embedder(pool, MemoryCache(100, 60))
    image = ImageInput.from_bytes(image_bytes(2), "a")
    (first,) = await embedder.embed(INFO, [image], list(INFO.attributes), _deadline())
    assert pool.calls == [(1, [[0, 1]])]
    (again,) = await embedder.embed(INFO, [image], list(INFO.attributes), _deadline())
    assert len(pool.calls) == 1
    assert all(r.cached for r in again.values())
    np.testing.assert_array_equal(first["sleeve"].embedding, again["sleeve"].embedding)
    # by reference once cached
    ref = ImageInput.from_sha256(image.sha256, "a")
    (by_ref,) = await embedder.embed(INFO, [ref], [INFO.attributes[1]], _deadline())
    np.testing.assert_array_equal(by_ref["sleeve"].embedding, first["sleeve"].embedding)


async def test_rows_are_chunked_to_the_max_batch_size() -> None:
    pool = ScriptedPool()
    embedder = Embedder(pool, MemoryCache(100, 60))
    images = [ImageInput.from_bytes(image_bytes(10 + i), f"candidate {i}") for i in range(5)]
    await embedder.embed(INFO, images, [INFO.attributes[0]], _deadline())
    assert sorted(size for size, _ in pool.calls) == [1, 2, 2]


async def test_a_bad_image_in_a_batch_is_named() -> None:
    bad = image_bytes(99)
    pool = ScriptedPool(reject=bad)
    embedder = Embedder(pool, MemoryCache(100, 60))
    images = [ImageInput.from_bytes(image_bytes(20), "candidate 0"),
              ImageInput.from_bytes(bad, "candidate 1")]  # fmt: skip
    with pytest.raises(GatewayError) as caught:
        await embedder.embed(INFO, images, [INFO.attributes[0]], _deadline())
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "candidate 1" in caught.value.message


async def test_unknown_sha256_is_not_found() -> None:
    embedder = Embedder(ScriptedPool(), MemoryCache(100, 60))
    ref = ImageInput.from_sha256("0" * 64, "query")
    with pytest.raises(GatewayError) as caught:
        await embedder.embed(INFO, [ref], [INFO.attributes[0]], _deadline())
    assert caught.value.code == grpc.StatusCode.NOT_FOUND
    assert "send the image bytes" in caught.value.message


async def test_bytes_win_over_a_reference_to_the_same_image() -> None:
    pool = ScriptedPool()
    embedder = Embedder(pool, MemoryCache(100, 60))
    data = image_bytes(42)
    by_bytes = ImageInput.from_bytes(data, "query image")
    by_ref = ImageInput.from_sha256(by_bytes.sha256, "candidate 0")
    query, candidate = await embedder.embed(
        INFO, [by_ref, by_bytes], [INFO.attributes[0]], _deadline()
    )
    np.testing.assert_array_equal(query["collar"].embedding, candidate["collar"].embedding)
    assert len(pool.calls) == 1
