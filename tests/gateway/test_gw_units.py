"""Pure pieces: image header checks, similarity maths, model parameters, API key file."""

from __future__ import annotations

import json

import grpc
import numpy as np
import pytest

from asen.errors import AsenError
from gateway.auth import ApiKeyInterceptor, hash_key, load_keys
from gateway.errors import GatewayError
from gateway.images import ImageInput, check_image
from gateway.model_info import ModelInfo
from gateway.similarity import score

from .gw_support import image_bytes, png_bomb


def _code(call) -> grpc.StatusCode:
    with pytest.raises(GatewayError) as caught:
        call()
    return caught.value.code


def test_image_checks() -> None:
    good = ImageInput.from_bytes(image_bytes(1), "a")
    check_image(good, max_pixels=0)
    assert _code(lambda: ImageInput.from_bytes(b"", "a")) == grpc.StatusCode.INVALID_ARGUMENT
    corrupt = ImageInput.from_bytes(b"not an image at all", "a")
    assert _code(lambda: check_image(corrupt, 0)) == grpc.StatusCode.INVALID_ARGUMENT
    gif = ImageInput.from_bytes(image_bytes(1, fmt="GIF"), "a")
    assert _code(lambda: check_image(gif, 0)) == grpc.StatusCode.INVALID_ARGUMENT
    assert _code(lambda: check_image(good, 100)) == grpc.StatusCode.RESOURCE_EXHAUSTED
    bombed = ImageInput.from_bytes(png_bomb(), "a")
    assert _code(lambda: check_image(bombed, 0)) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert _code(lambda: ImageInput.from_sha256("xyz", "a")) == grpc.StatusCode.INVALID_ARGUMENT
    assert ImageInput.from_sha256("AB" * 32, "a").sha256 == "ab" * 32


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


def _config(**overrides) -> dict:
    params = {
        "model_version": "abc-cpu",
        "attributes": json.dumps(
            [
                {"name": "collar", "num_values": 2, "value_names": ["round", "v"]},
                {"name": "sleeve", "num_values": 3, "value_names": None},
            ]
        ),  # fmt: skip
        "beta": "0.6",
        "global_dim": "16",
        "embedding_dim": "32",
        "max_image_pixels": "1000000",
    } | overrides
    return {
        "config": {
            "name": "asen",
            "max_batch_size": 8,
            "parameters": {k: {"string_value": v} for k, v in params.items()},
        }
    }


def test_model_info_from_triton_config() -> None:
    info = ModelInfo.from_triton_config(_config())
    assert info.model_version == "abc-cpu"
    assert [(a.id, a.name, a.num_values) for a in info.attributes] == [
        (0, "collar", 2),
        (1, "sleeve", 3),
    ]
    assert info.attributes[0].value_names == ("round", "v")
    assert (info.beta, info.global_dim, info.embedding_dim) == (0.6, 16, 32)
    assert (info.max_image_pixels, info.max_batch_size) == (1_000_000, 8)
    assert [a.name for a in info.resolve_attributes([])] == ["collar", "sleeve"]
    assert [a.id for a in info.resolve_attributes(["sleeve", "sleeve"])] == [1]
    with pytest.raises(ValueError, match="'pocket'"):
        info.resolve_attributes(["pocket"])
    with pytest.raises(ValueError, match="ASEN parameters"):
        ModelInfo.from_triton_config({"config": {"parameters": {}}})


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
