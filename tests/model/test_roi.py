"""The RoI crop: the batched box equals the official per-image OpenCV procedure.

The reference below is a transcription of the official LocalTransform steps with OpenCV (a
test-only dependency), so the project's torch implementation is checked against the real
cv2.resize / cv2.threshold / cv2.boundingRect semantics.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from asen.roi import SquareBox, attention_box, attention_boxes, box_in_source, local_tensor


def official_square(attention: np.ndarray, size: int, threshold: float) -> tuple[int, int, int]:
    mask = cv2.resize(attention.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    mask = (mask - np.min(mask)) / (np.max(mask) - np.min(mask))
    mask = np.uint8(mask * 255)
    _, mask = cv2.threshold(mask, 255 * threshold, 255, cv2.THRESH_BINARY)
    x, y, w, h = cv2.boundingRect(mask)
    xc, yc, d = x + w // 2, y + h // 2, max(w, h)
    x = size - d if xc + d // 2 > size else max(0, xc - d // 2)
    y = size - d if yc + d // 2 > size else max(0, yc - d // 2)
    return x, y, d


def peaked_maps(count: int, side: int, seed: int) -> np.ndarray:
    """Softmax maps with one or two random peaks, like trained attention."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 0.3, size=(count, side, side))
    for i in range(count):
        for _ in range(rng.integers(1, 3)):
            r, c = rng.integers(0, side, size=2)
            logits[i, r, c] += rng.uniform(2, 6)
    flat = np.exp(logits.reshape(count, -1))
    return (flat / flat.sum(1, keepdims=True)).reshape(count, side, side).astype(np.float32)


@pytest.mark.parametrize(
    ("side", "size", "threshold"), [(14, 224, 0.1), (14, 224, 0.4), (4, 64, 0.1)]
)
def test_batched_boxes_match_official_opencv(side: int, size: int, threshold: float) -> None:
    maps = peaked_maps(64, side, seed=side + int(threshold * 10))
    boxes = attention_boxes(torch.from_numpy(maps), size, threshold).tolist()
    expected = [official_square(m, size, threshold) for m in maps]
    assert boxes == [list(e) for e in expected]


def test_single_image_form_agrees_with_batch() -> None:
    maps = peaked_maps(8, 14, seed=3)
    batch = attention_boxes(torch.from_numpy(maps), 224, 0.1).tolist()
    single = [attention_box(m, 224, 0.1) for m in maps]
    assert [[b.x, b.y, b.d] for b in single] == batch


def test_flat_attention_selects_whole_frame() -> None:
    flat = torch.full((1, 14, 14), 1 / 196)
    assert attention_boxes(flat, 224, 0.1).tolist() == [[0, 0, 224]]


@pytest.mark.parametrize(
    ("image_size", "box", "expected"),
    [
        # landscape: scale by height, shift x by (W - H) // 2
        ((400, 300), SquareBox(28, 56, 112), (37 + 50, 75, 37 + 50 + 150, 75 + 150)),
        # portrait: scale by width, shift y by (H - W) // 2
        ((300, 500), SquareBox(0, 0, 224), (0, 100, 300, 400)),
    ],
)
def test_box_maps_back_to_original_pixels(image_size, box, expected) -> None:
    assert box_in_source(box, image_size, 224) == expected


def test_local_tensor_is_square_and_normalised() -> None:
    image = Image.new("RGB", (300, 200), (255, 0, 0))
    tensor = local_tensor(image, (10, 20, 110, 120), 112)
    assert tensor.shape == (3, 112, 112)
    assert torch.allclose(tensor[0], torch.full((112, 112), (1 - 0.485) / 0.229), atol=1e-5)
