"""float16 storage of cached embeddings: half the bytes, bounded error, both layouts readable."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.cache.entry import CachedEmbedding, value_size


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_float16_halves_the_embedding_and_keeps_the_box_exact() -> None:
    rng = np.random.default_rng(0)
    vector = rng.standard_normal(2048).astype(np.float32)
    box = (12.345678, 0.5, 1023.99, 767.125)
    entry = CachedEmbedding(vector, box)
    half, full = entry.encode("float16"), entry.encode("float32")
    assert len(full) == value_size(2048) == 8 + 4 * 2048 + 16
    assert len(half) == value_size(2048, "float16") == 8 + 2 * 2048 + 16
    decoded = CachedEmbedding.decode(half)
    assert decoded.embedding.dtype == np.float32
    assert decoded.roi == tuple(float(np.float32(v)) for v in box)
    # float16 keeps 11 significant bits: relative error per component <= 2**-11
    np.testing.assert_allclose(decoded.embedding, vector, rtol=2**-11, atol=1e-7)
    assert not np.array_equal(decoded.embedding, vector)  # it really was rounded


def test_float16_changes_cosine_similarity_by_far_less_than_its_spread() -> None:
    rng = np.random.default_rng(1)
    vectors = np.maximum(rng.standard_normal((64, 1024)), 0).astype(np.float32)  # ReLU-like
    rounded = [
        CachedEmbedding.decode(CachedEmbedding(v, (0, 0, 1, 1)).encode("float16")) for v in vectors
    ]
    errors = [
        abs(_cosine(vectors[i], vectors[j]) - _cosine(rounded[i].embedding, rounded[j].embedding))
        for i in range(0, 64, 2)
        for j in range(1, 64, 2)
    ]
    assert max(errors) < 1e-3


def test_both_layouts_decode_whatever_the_setting() -> None:
    vector = np.array([0.25, -1.5, 3.0], dtype=np.float32)  # exact in float16
    for dtype in ("float32", "float16"):
        decoded = CachedEmbedding.decode(CachedEmbedding(vector, (1, 2, 3, 4)).encode(dtype))
        np.testing.assert_array_equal(decoded.embedding, vector)


def test_a_vector_beyond_float16_range_is_stored_as_float32_not_as_inf() -> None:
    entry = CachedEmbedding(np.array([1.0, 70000.0], dtype=np.float32), (0, 0, 1, 1))
    value = entry.encode("float16")
    assert len(value) == value_size(2, "float32")
    assert CachedEmbedding.decode(value).embedding[1] == 70000.0


@pytest.mark.parametrize("code", [2, 255])
def test_an_unknown_dtype_code_is_malformed(code: int) -> None:
    value = bytearray(CachedEmbedding(np.ones(4, np.float32), (0, 0, 1, 1)).encode("float16"))
    value[3] = code
    with pytest.raises(ValueError, match="header"):
        CachedEmbedding.decode(bytes(value))
