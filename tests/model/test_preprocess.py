"""Image decoding limits and the official global pre-processing geometry."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from asen.errors import ImageError
from asen.preprocess import center_crop, decode_image, global_tensor, resize_shorter_side


def encode(image: Image.Image, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.mark.parametrize(("size", "expected"), [((300, 200), (336, 224)), ((200, 333), (224, 372))])
def test_resize_shorter_side_truncates_long_side(size, expected) -> None:
    assert resize_shorter_side(Image.new("RGB", size), 224).size == expected


def test_center_crop_rounds_offsets_like_torchvision() -> None:
    image = Image.fromarray(np.arange(5 * 7, dtype=np.uint8).reshape(5, 7))
    cropped = np.asarray(center_crop(image, 4))
    top, left = int(round((5 - 4) / 2)), int(round((7 - 4) / 2))
    assert np.array_equal(cropped, np.asarray(image)[top : top + 4, left : left + 4])


def test_global_tensor_shape_and_normalisation() -> None:
    tensor = global_tensor(Image.new("RGB", (320, 240), (124, 116, 104)), 224)
    assert tensor.shape == (3, 224, 224)
    assert float(tensor.abs().max()) < 0.01  # ImageNet mean colour maps to ~0


@pytest.mark.parametrize(("fmt", "mode"), [("JPEG", "RGB"), ("PNG", "RGBA"), ("WEBP", "RGB")])
def test_decodes_supported_formats_to_rgb(fmt: str, mode: str) -> None:
    image = decode_image(encode(Image.new(mode, (40, 30)), fmt))
    assert image.mode == "RGB" and image.size == (40, 30)


def test_bad_images_are_clear_errors() -> None:
    good = encode(Image.new("RGB", (64, 64), (200, 10, 10)))
    with pytest.raises(ImageError, match="empty"):
        decode_image(b"")
    with pytest.raises(ImageError, match="cannot decode"):
        decode_image(b"certainly not an image")
    with pytest.raises(ImageError, match="cannot decode"):
        decode_image(good[: len(good) // 2])
    with pytest.raises(ImageError, match="over the limit"):
        decode_image(encode(Image.new("RGB", (200, 200)), "PNG"), max_pixels=100 * 100)
