"""Pure pieces: image header checks, similarity maths, model parameters, API key file."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from asen_contract.errors import AsenError, ImageError, InvalidInput, LimitExceeded
from gateway.api.auth import ApiKeyInterceptor, hash_key, load_keys
from gateway.core.images import ImageInput, ImageRef, check_image
from gateway.core.scoring import score, score_pair

from .gw_support import image_bytes, png_bomb


def _kind(call) -> type[BaseException]:
    with pytest.raises(AsenError) as caught:
        call()
    return type(caught.value)


def test_image_checks() -> None:
    good = ImageInput.from_bytes(image_bytes(1), "a")
    check_image(good, max_pixels=0)
    assert _kind(lambda: ImageInput.from_bytes(b"", "a")) is ImageError
    corrupt = ImageInput.from_bytes(b"not an image at all", "a")
    assert _kind(lambda: check_image(corrupt, 0)) is ImageError
    gif = ImageInput.from_bytes(image_bytes(1, fmt="GIF"), "a")
    assert _kind(lambda: check_image(gif, 0)) is ImageError
    assert _kind(lambda: check_image(good, 100)) is LimitExceeded  # the caller's limit
    bombed = ImageInput.from_bytes(png_bomb(), "a")
    assert _kind(lambda: check_image(bombed, 0)) is LimitExceeded
    assert _kind(lambda: ImageInput.from_sha256("xyz", "a")) is InvalidInput
    assert ImageInput.from_sha256("AB" * 32, "a").sha256 == "ab" * 32
    assert _kind(lambda: ImageInput.of(ImageRef(), "a")) is InvalidInput
    assert ImageInput.of(ImageRef(sha256="cd" * 32), "a").data is None


def _fused(global_part: np.ndarray, local_part: np.ndarray, beta: float) -> np.ndarray:
    g = global_part / np.linalg.norm(global_part)
    part = local_part / np.linalg.norm(local_part)
    return np.concatenate([np.sqrt(beta) * g, np.sqrt(1 - beta) * part]).astype(np.float32)


def test_fused_score_is_the_weighted_cosines() -> None:
    rng = np.random.default_rng(0)
    ga, la, gb, lb = (rng.normal(size=n) for n in (8, 4, 8, 4))
    beta = 0.6
    s = score(_fused(ga, la, beta), _fused(gb, lb, beta)[None], global_dim=8)
    cos_g = ga @ gb / np.linalg.norm(ga) / np.linalg.norm(gb)
    cos_l = la @ lb / np.linalg.norm(la) / np.linalg.norm(lb)
    assert s.global_part[0] == pytest.approx(cos_g, abs=1e-5)
    assert s.local_part[0] == pytest.approx(cos_l, abs=1e-5)
    assert s.fused[0] == pytest.approx(beta * cos_g + (1 - beta) * cos_l, abs=1e-5)


def test_global_only_model_has_zero_local_part() -> None:
    v = np.array([0.6, 0.8], dtype=np.float32)
    s = score(v, np.stack([v, -v]), global_dim=2)
    np.testing.assert_allclose(s.fused, [1.0, -1.0], atol=1e-6)
    np.testing.assert_array_equal(s.local_part, [0.0, 0.0])


def test_api_keys_file_and_check(tmp_path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(f"# accepted keys\n{hash_key('s3cret')} demo\n\n{hash_key('other')}\n")
    keys = load_keys(keys_file)
    assert keys[hash_key("s3cret")] == "demo"
    interceptor = ApiKeyInterceptor(keys)
    assert interceptor.check((("authorization", "Bearer s3cret"),)) is None
    assert interceptor.check(()) == grpc.StatusCode.UNAUTHENTICATED
    assert interceptor.check((("authorization", "Basic x"),)) == grpc.StatusCode.UNAUTHENTICATED
    wrong = (("authorization", "Bearer nope"),)
    assert interceptor.check(wrong) == grpc.StatusCode.PERMISSION_DENIED
    keys_file.write_text("s3cret\n")  # a plain key instead of its digest
    with pytest.raises(AsenError, match="SHA-256"):
        load_keys(keys_file)


@pytest.mark.parametrize(("dim", "global_dim"), [(16, 8), (8, 8)])  # fused; global-only
def test_pair_scores_agree_with_matrix_scores(dim: int, global_dim: int) -> None:
    rng = np.random.default_rng(dim)
    a, b = (rng.standard_normal(dim).astype(np.float32) for _ in range(2))
    expected = score(a, b[None], global_dim)
    fused, global_part, local_part = score_pair(a, b, global_dim)
    assert fused == pytest.approx(float(expected.fused[0]), rel=1e-5)
    assert global_part == pytest.approx(float(expected.global_part[0]), rel=1e-5)
    assert local_part == pytest.approx(float(expected.local_part[0]), rel=1e-5, abs=1e-7)
    zero = np.zeros(dim, np.float32)
    assert score_pair(a, zero, global_dim) == (0.0, 0.0, 0.0)
