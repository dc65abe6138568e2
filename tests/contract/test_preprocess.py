"""The official global pre-processing geometry and normalisation, in numpy."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from asen_contract.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    center_crop,
    global_input,
    resize_shorter_side,
)

from ..official.official_oracle import global_transform


@pytest.mark.parametrize(("size", "expected"), [((300, 200), (336, 224)), ((200, 333), (224, 372))])
def test_resize_shorter_side_truncates_long_side(size, expected) -> None:
    assert resize_shorter_side(Image.new("RGB", size), 224).size == expected


def test_center_crop_rounds_offsets_like_torchvision() -> None:
    image = Image.fromarray(np.arange(5 * 7, dtype=np.uint8).reshape(5, 7))
    cropped = np.asarray(center_crop(image, 4))
    top, left = int(round((5 - 4) / 2)), int(round((7 - 4) / 2))
    assert np.array_equal(cropped, np.asarray(image)[top : top + 4, left : left + 4])


def test_global_input_shape_and_normalisation() -> None:
    colour = tuple(int(v) for v in np.round(IMAGENET_MEAN * 255))
    array = global_input(Image.new("RGB", (320, 240), colour), 224)
    assert array.shape == (3, 224, 224) and array.dtype == np.float32
    assert array.flags.c_contiguous
    assert float(np.abs(array).max()) < 0.01  # ImageNet mean colour maps to ~0
    white = global_input(Image.new("RGB", (10, 10), (255, 255, 255)), 8)
    np.testing.assert_allclose(white[:, 0, 0], (1 - IMAGENET_MEAN) / IMAGENET_STD, rtol=1e-6)


@pytest.mark.parametrize("size", [(96, 96), (170, 100), (50, 70), (333, 1000)])
def test_equals_the_official_transform(size) -> None:
    rng = np.random.default_rng(size[0])
    image = Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))
    expected = global_transform(image, 96).numpy()
    np.testing.assert_allclose(global_input(image, 96), expected, rtol=0, atol=1e-6)
