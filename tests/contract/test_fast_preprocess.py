"""The fast pre-processing (`--cpu-preprocess fast`): JPEGs decoded at a reduced DCT scale that
still covers what is cut from them, the same limits and colour rules as the exact decoder, and
inputs close to the exact path's (identical where nothing could be reduced)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from asen_contract import fast_preprocess
from asen_contract.errors import ImageError, LimitExceeded
from asen_contract.images import ImageLimits, decode_image, decode_reduced
from asen_contract.preprocess import global_input
from asen_contract.roi import local_input

LIMITS = ImageLimits()


def photo(width: int, height: int, fmt: str = "JPEG", mode: str = "RGB", seed: int = 0) -> bytes:
    """Smooth random content, like a product photo at catalogue size."""
    rng = np.random.default_rng(seed)
    coarse = (rng.random((max(1, height // 40), max(1, width // 40), 3)) * 255).astype(np.uint8)
    image = Image.fromarray(coarse).resize((width, height), Image.BILINEAR).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "size, at_least, decoded, scale",
    [
        ((1000, 750), (224, 224), (500, 375), 0.5),  # 750 // 224 = 3: half scale
        ((1000, 750), (90, 90), (125, 94), 0.125),  # 750 // 90 = 8: an eighth (sizes round up)
        ((1000, 750), (100, 100), (250, 188), 0.25),  # 7: a quarter
        ((400, 300), (224, 224), (400, 300), 1.0),  # under twice the size: full scale
        ((1000, 750), (1001, 10), (1000, 750), 1.0),  # asked for more than there is
    ],
)
def test_jpeg_scale_keeps_the_requested_size(size, at_least, decoded, scale):
    image, got_scale = decode_reduced(photo(*size), LIMITS, at_least)
    assert image.size == decoded and got_scale == scale and image.mode == "RGB"
    assert image.size[0] >= min(at_least[0], size[0]) and image.size[1] >= min(at_least[1], size[1])


@pytest.mark.parametrize(
    "fmt, mode", [("PNG", "RGB"), ("WEBP", "RGB"), ("JPEG", "CMYK"), ("JPEG", "L")]
)
def test_other_formats_and_modes_decode_like_the_exact_decoder(fmt, mode):
    data = photo(640, 480, fmt, mode)
    image, scale = decode_reduced(data, LIMITS, (96, 96))
    assert image.mode == "RGB"
    if fmt != "JPEG":  # no reduced decode: the exact decoder's pixels
        assert scale == 1.0
        assert np.array_equal(np.asarray(image), np.asarray(decode_image(data, LIMITS)))
    else:  # grayscale and CMYK JPEGs are reduced too, then converted by the same rules
        assert scale == 0.25 and image.size == (160, 120)
        full = decode_image(data, LIMITS).resize(image.size, Image.BILINEAR)
        assert np.abs(np.asarray(image, float) - np.asarray(full, float)).mean() < 3


def test_limits_and_bad_data_are_refused_like_the_exact_decoder():
    with pytest.raises(LimitExceeded, match="over the limit"):
        decode_reduced(photo(1000, 750), ImageLimits(max_pixels=700_000), (224, 224))
    with pytest.raises(LimitExceeded, match="aspect ratio"):
        decode_reduced(photo(2100, 100), LIMITS, (224, 224))
    data = photo(1000, 750)
    with pytest.raises(ImageError, match="cannot decode"):
        fast_preprocess.global_input(data[: len(data) // 3], 224, LIMITS)
    with pytest.raises(ImageError):
        fast_preprocess.local_inputs(b"", [(0, 0, 10, 10)], 112, LIMITS)


@pytest.mark.parametrize("size", [(1000, 750), (600, 800), (750, 1000)])
def test_global_input_is_close_to_the_exact_one(size):
    data = photo(*size, seed=size[0])
    want = global_input(decode_image(data, LIMITS), 224)
    got = fast_preprocess.global_input(data, 224, LIMITS)
    assert got.shape == want.shape == (3, 224, 224) and got.dtype == np.float32
    difference = np.abs(got - want)
    assert 0 < difference.mean() < 0.02  # under 1.2 8-bit levels on average (std ~0.225)
    assert np.array_equal(  # under twice the size nothing is reduced: bit-exact
        fast_preprocess.global_input(photo(400, 300), 224, LIMITS),
        global_input(decode_image(photo(400, 300), LIMITS), 224),
    )


def test_local_inputs_keep_every_box_at_least_the_local_size():
    data = photo(1000, 750, seed=5)
    image = decode_image(data, LIMITS)
    large = (300, 100, 660, 460)  # 360 px: a quarter-scale decode would leave 90 < 112
    small = (400, 300, 500, 400)  # 100 px < 112: only a full decode keeps it
    degenerate = (10, 10, 10, 10)  # the exact path's fallback: the whole image at L
    got = fast_preprocess.local_inputs(data, [large], 112, LIMITS)[0]
    want = local_input(image, large, 112)
    assert got.shape == want.shape == (3, 112, 112)
    assert 0 < np.abs(got - want).mean() < 0.02  # decoded at half scale, 180 px >= 112
    both = fast_preprocess.local_inputs(data, [large, small], 112, LIMITS)
    for box, got in zip([large, small], both, strict=True):  # the small box forces full scale
        assert np.array_equal(got, local_input(image, box, 112))
    got = fast_preprocess.local_inputs(data, [degenerate], 112, LIMITS)[0]
    difference = np.abs(got - local_input(image, degenerate, 112)).mean()
    assert 0 < difference < 0.15  # a quarter-scale decode, then 1.7x: coarser than the others


def test_reusing_the_global_decode_changes_nothing_and_saves_a_decode(monkeypatch):
    data = photo(800, 600, seed=7)
    _, decoded = fast_preprocess.global_input_and_image(data, 224, LIMITS)
    assert decoded[1] == 0.5  # 600 // 224 = 2
    same_scale = [(100, 0, 700, 600), (250, 150, 550, 450)]  # 300 px: 1/2 keeps 150 >= 112
    finer = [(350, 250, 450, 350)]  # 100 px: only a full decode keeps it
    calls = []
    real = fast_preprocess.decode_reduced
    monkeypatch.setattr(
        fast_preprocess, "decode_reduced", lambda *a: calls.append(a[2]) or real(*a)
    )
    for boxes, decodes in ((same_scale, 0), (finer, 1)):
        calls.clear()
        reused = fast_preprocess.local_inputs(data, boxes, 112, LIMITS, decoded)
        assert len(calls) == decodes
        fresh = fast_preprocess.local_inputs(data, boxes, 112, LIMITS)
        for a, b in zip(reused, fresh, strict=True):
            assert np.array_equal(a, b)
