"""The official global pre-processing geometry and normalisation, in numpy."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from asen_contract.preprocess import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    center_crop,
    float_normalized_array,
    global_input,
    normalisation_table,
    normalized_array,
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


def _varied_images() -> list[Image.Image]:
    """Every 8-bit value in every channel, odd shapes, a smooth photo-like JPEG, a 1x1 image,
    and images from other modes converted to RGB."""
    rng = np.random.default_rng(7)
    every = np.arange(256 * 3, dtype=np.int64).reshape(16, 48) % 256
    images = [
        Image.fromarray(
            np.stack([every, every[::-1], every.T.reshape(16, 48)], axis=2).astype(np.uint8)
        ),
        Image.fromarray(rng.integers(0, 256, size=(224, 224, 3), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 256, size=(1, 1, 3), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 256, size=(37, 113, 3), dtype=np.uint8)),
        Image.fromarray(rng.integers(0, 256, size=(50, 7), dtype=np.uint8)).convert("RGB"),
        Image.new("RGB", (9, 5), (0, 255, 128)),
    ]
    smooth = Image.fromarray(rng.integers(0, 256, size=(8, 6, 3), dtype=np.uint8))
    buffer = io.BytesIO()
    smooth.resize((600, 800), Image.BILINEAR).save(buffer, "JPEG", quality=90)
    images.append(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
    return images


@pytest.mark.parametrize("index", range(7))
def test_table_normalisation_is_bit_identical_to_the_float_arithmetic(index) -> None:
    image = _varied_images()[index]
    table_path, float_path = normalized_array(image), float_normalized_array(image)
    assert table_path.dtype == float_path.dtype == np.float32
    assert table_path.shape == float_path.shape == (3, image.height, image.width)
    assert table_path.flags.c_contiguous
    assert np.array_equal(table_path.view(np.uint32), float_path.view(np.uint32))  # every bit
    # and through the whole global input (resize, crop, then the table)
    array = np.asarray(center_crop(resize_shorter_side(image, 64), 64))
    assert np.array_equal(global_input(image, 64), float_normalized_array(array))


def test_the_table_holds_the_float_expression_of_every_value() -> None:
    values = np.arange(256, dtype=np.uint8)
    row = Image.fromarray(np.stack([values] * 3, axis=1)[np.newaxis])  # 1 x 256 RGB
    assert np.array_equal(normalisation_table(), float_normalized_array(row)[:, 0, :])
    assert not normalisation_table().flags.writeable
