"""The batched RoI crop of training equals the per-image path of serving and evaluation."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from asen.training.local_crops import LocalCropper
from asen.training.normalize import normalize_pixels
from asen_contract.preprocess import center_crop, global_input, resize_shorter_side
from asen_contract.roi import attention_box, box_in_source, local_input


def _images(count: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    sizes = [(90, 140), (200, 120), (64, 64), (123, 321), (150, 149), (100, 260)]
    return [
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        for w, h in (sizes[i % len(sizes)] for i in range(count))
    ]


def _attention(count: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    maps = torch.rand(count, 4, 4, generator=generator) ** 4  # peaked maps: varied boxes
    maps[0] = 1.0 / 16  # a flat map selects the whole frame
    return torch.softmax(maps.flatten(1) * 8, dim=1).view(count, 4, 4)


def test_batched_boxes_equal_the_per_image_path() -> None:
    images, attention = _images(12), _attention(12)
    cropper = LocalCropper(global_size=64, local_size=32, threshold=0.1)
    batched = cropper.source_boxes(attention, images)
    for index, image in enumerate(images):
        square = attention_box(attention[index].numpy(), 64, 0.1)
        assert batched[index] == box_in_source(square, image.size, 64)
    assert len(set(batched)) > 3  # the maps really give different boxes


def test_crops_equal_the_per_image_local_tensor_with_and_without_threads() -> None:
    images, attention = _images(6), _attention(6)
    for threads in (0, 2):
        cropper = LocalCropper(64, 32, 0.4, threads=threads)
        crops = cropper(attention, images)
        boxes = cropper.source_boxes(attention, images)
        expected = torch.stack(
            [
                torch.from_numpy(local_input(im, box, 32))
                for im, box in zip(images, boxes, strict=True)
            ]
        )
        assert torch.equal(crops, expected)
        assert cropper.seconds > 0
        cropper.close()


def test_batched_normalisation_is_bit_identical_to_preprocess() -> None:
    image = _images(4)[3]
    expected = torch.from_numpy(global_input(image, 64))
    pixels = np.array(center_crop(resize_shorter_side(image, 64), 64), dtype=np.uint8)
    assert torch.equal(normalize_pixels(torch.from_numpy(pixels)), expected)
