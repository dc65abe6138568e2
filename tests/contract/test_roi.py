"""The RoI crop: the batched box equals the official per-image OpenCV procedure.

The reference below is a transcription of the official LocalTransform steps with OpenCV (a
test-only dependency), so the contract's implementation is checked against the real
cv2.resize / cv2.threshold / cv2.boundingRect semantics, on numpy arrays and on torch tensors
(the two namespaces the one implementation runs in).
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from asen_contract.roi import (
    SquareBox,
    attention_box,
    attention_boxes,
    bilinear_weights,
    box_in_source,
    local_input,
    source_boxes,
)


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


def peaked_maps(count: int, side: int | tuple[int, int], seed: int) -> np.ndarray:
    """Softmax maps with one or two random peaks, like trained attention."""
    height, width = (side, side) if isinstance(side, int) else side
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 0.3, size=(count, height, width))
    for i in range(count):
        for _ in range(rng.integers(1, 3)):
            r, c = rng.integers(0, height), rng.integers(0, width)
            logits[i, r, c] += rng.uniform(2, 6)
    flat = np.exp(logits.reshape(count, -1))
    return (flat / flat.sum(1, keepdims=True)).reshape(count, height, width).astype(np.float32)


CASES = [(14, 224, 0.1), (14, 224, 0.4), (4, 64, 0.1), (7, 112, 0.5), ((6, 9), 96, 0.1)]


@pytest.mark.parametrize(("side", "size", "threshold"), CASES)
def test_batched_boxes_match_official_opencv(side, size: int, threshold: float) -> None:
    maps = peaked_maps(256, side, seed=size + int(threshold * 10))
    expected = [list(official_square(m, size, threshold)) for m in maps]
    from_numpy = attention_boxes(maps, size, threshold)
    from_torch = attention_boxes(torch.from_numpy(maps), size, threshold)
    assert from_numpy.dtype == np.int64 and from_torch.dtype == torch.int64
    assert from_numpy.tolist() == expected
    assert from_torch.tolist() == expected
    assert len({tuple(box) for box in expected}) > 10  # the maps really give different boxes


def test_resize_weights_reproduce_opencv_inter_linear() -> None:
    maps = peaked_maps(16, (5, 14), seed=1)
    for attention in maps:
        want = cv2.resize(attention, (224, 224), interpolation=cv2.INTER_LINEAR)
        got = bilinear_weights(5, 224) @ (attention @ bilinear_weights(14, 224).T)
        rounding = 4 * np.finfo(np.float32).eps * float(want.max())  # a few ulps: sum order
        np.testing.assert_allclose(got, want, rtol=0, atol=rounding)
    assert np.allclose(bilinear_weights(14, 224).sum(axis=1), 1.0)


def test_single_image_form_agrees_with_batch() -> None:
    maps = peaked_maps(8, 14, seed=3)
    batch = attention_boxes(maps, 224, 0.1).tolist()
    single = [attention_box(m, 224, 0.1) for m in maps]
    assert [[b.x, b.y, b.d] for b in single] == batch


def test_flat_attention_selects_whole_frame_and_a_full_threshold_nothing() -> None:
    flat = np.full((1, 14, 14), 1 / 196, dtype=np.float32)
    assert attention_boxes(flat, 224, 0.1).tolist() == [[0, 0, 224]]
    peaked = peaked_maps(1, 14, seed=0)
    assert attention_boxes(peaked, 224, 1.0).tolist() == [
        list(official_square(peaked[0], 224, 1.0))
    ]


def test_torch_input_stays_torch_and_torch_is_never_imported_by_the_contract() -> None:
    maps = torch.from_numpy(peaked_maps(3, 14, seed=5)).double()
    boxes = attention_boxes(maps, 224, 0.1)
    assert isinstance(boxes, torch.Tensor) and boxes.device == maps.device
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        attention_boxes([[[0.0]]], 224, 0.1)
    source = sys.modules["asen_contract.roi"].__dict__
    assert "torch" not in source  # reached through the tensor's own module only


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


def test_local_input_is_square_and_normalised() -> None:
    image = Image.new("RGB", (300, 200), (255, 0, 0))
    array = local_input(image, (10, 20, 110, 120), 112)
    assert array.shape == (3, 112, 112) and array.dtype == np.float32
    np.testing.assert_allclose(array[0], np.full((112, 112), (1 - 0.485) / 0.229), atol=1e-5)
    tiny = local_input(Image.new("RGB", (3, 2)), (1, 1, 1, 1), 16)  # box under one pixel
    assert tiny.shape == (3, 16, 16)


@pytest.mark.parametrize("namespace", ["numpy", "torch"])
def test_source_boxes_are_each_rows_boxes_in_its_own_image(namespace) -> None:
    """[B, K, h, w] attention and B image sizes: row b's K boxes, mapped with row b's size."""
    rng = np.random.default_rng(4)
    attention = rng.random((3, 2, 7, 7), dtype=np.float32) ** 6
    sizes = [(640, 480), (96, 300), (1000, 1000)]
    want = [
        [box_in_source(attention_box(attention[b, k], 112, 0.5), sizes[b], 112) for k in range(2)]
        for b in range(3)
    ]
    given = torch.from_numpy(attention) if namespace == "torch" else attention
    assert source_boxes(given, sizes, 112, 0.5) == want
    assert len({box for row in want for box in row}) > 3  # the rows really differ
