"""The attention-guided RoI crop that feeds the local branch, with the official semantics.

Official LocalTransform (OpenCV, one image at a time): attention [h, w] -> cv2.resize to G x G
(INTER_LINEAR) -> min-max -> uint8 -> binary threshold at 255 * t -> boundingRect -> square of
side max(w, h) centred on it, kept inside the G x G frame -> mapped back to the ORIGINAL image
(scale short_edge / G, plus the centre-crop offset) -> crop -> shorter side resized to L.

`attention_boxes` is the one implementation of the box. It is written once over an array
namespace, so the same code runs batched on numpy arrays (the Triton cpu target, evaluation)
and on torch tensors on any device (training, the gpu target's roi_crop), without this package
importing torch. The bilinear resize is two precomputed weight matrices that reproduce
OpenCV's float INTER_LINEAR weights (horizontal pass first, like OpenCV). The mapping and the
crop run per image because images differ in size.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from asen_contract.preprocess import center_crop, normalized_array, resize_shorter_side

SourceBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class SquareBox:
    """A square in the G x G global frame: left, top, side."""

    x: int
    y: int
    d: int


@functools.lru_cache(maxsize=16)
def bilinear_weights(source: int, target: int) -> np.ndarray:
    """[target, source] float32 matrix of OpenCV's INTER_LINEAR resize along one axis.

    Half-pixel centres; a sample left of the first or right of the last source pixel takes that
    pixel alone (weight exactly 1), as OpenCV does; weights are float32 like OpenCV's. Cached:
    callers must not modify the result.
    """
    weights = np.zeros((target, source), dtype=np.float32)
    scale = source / target
    for index in range(target):
        position = np.float32((index + 0.5) * scale - 0.5)
        left = math.floor(position)
        fraction = np.float32(position - np.float32(left))
        if left < 0:
            left, fraction = 0, np.float32(0)
        if left >= source - 1:
            left, fraction = source - 1, np.float32(0)
        weights[index, left] += np.float32(1) - fraction
        if fraction:
            weights[index, left + 1] += fraction
    return weights


def attention_boxes(attention: Any, global_size: int, threshold: float) -> Any:
    """attention [B, h, w] -> squares [B, 3] (x, y, d) in the global frame, int64.

    `attention` is a numpy array or a torch tensor (on any device); the result is the same kind
    on the same device. A flat map (no peak) selects the whole frame instead of dividing by
    zero; an empty selection gives OpenCV's (0, 0, 0, 0) rectangle.
    """
    xp, asarray = _namespace(attention)
    _, height, width = attention.shape
    size = global_size
    maps = asarray(attention, dtype=xp.float32)
    across = asarray(bilinear_weights(width, size).T)  # [w, G]
    down = asarray(bilinear_weights(height, size))  # [G, h]
    maps = xp.matmul(down, xp.matmul(maps, across))  # [B, G, G]
    low = xp.amin(maps, axis=(1, 2), keepdims=True)
    high = xp.amax(maps, axis=(1, 2), keepdims=True)
    span = high - low
    normalized = xp.where(span > 0, (maps - low) / xp.where(span > 0, span, 1), 1)
    # np.uint8(v * 255) > floor(255 t), without a dtype cast: truncation is floor for v >= 0.
    selected = normalized * 255 >= math.floor(255 * threshold) + 1

    positions = asarray(np.arange(size))
    rows = xp.any(selected, axis=2)
    cols = xp.any(selected, axis=1)
    y0 = xp.amin(xp.where(rows, positions, size + 1), axis=1)
    y1 = xp.amax(xp.where(rows, positions, -1), axis=1)
    x0 = xp.amin(xp.where(cols, positions, size + 1), axis=1)
    x1 = xp.amax(xp.where(cols, positions, -1), axis=1)
    empty = y1 < 0
    x0 = xp.where(empty, 0, x0)
    y0 = xp.where(empty, 0, y0)
    w = xp.where(empty, 0, x1 - x0 + 1)
    h = xp.where(empty, 0, y1 - y0 + 1)

    d = xp.maximum(w, h)
    half = d // 2
    xc = x0 + w // 2
    yc = y0 + h // 2
    x = xp.where(xc + half > size, size - d, xp.where(xc - half < 0, 0, xc - half))
    y = xp.where(yc + half > size, size - d, xp.where(yc - half < 0, 0, yc - half))
    return xp.stack((x, y, d), axis=1)


def attention_box(attention: np.ndarray, global_size: int, threshold: float) -> SquareBox:
    """Single-image form of `attention_boxes`: attention [h, w] -> SquareBox."""
    batch = np.asarray(attention, dtype=np.float32)[np.newaxis]
    x, y, d = attention_boxes(batch, global_size, threshold)[0].tolist()
    return SquareBox(x, y, d)


def source_boxes(
    attention: Any, sizes: Sequence[tuple[int, int]], global_size: int, threshold: float
) -> list[list[SourceBox]]:
    """attention [B, K, h, w] (numpy or torch) and each image's (width, height) -> every image's
    K boxes in original-image pixels: `attention_boxes` then `box_in_source`, row by row."""
    batch, count = attention.shape[:2]
    flat = attention.reshape(batch * count, *attention.shape[2:])
    squares = attention_boxes(flat, global_size, threshold).tolist()
    return [
        [
            box_in_source(SquareBox(*s), sizes[row], global_size)
            for s in squares[row * count : (row + 1) * count]
        ]
        for row in range(batch)
    ]


def box_in_source(box: SquareBox, image_size: tuple[int, int], global_size: int) -> SourceBox:
    """Map a global-frame square to (x0, y0, x1, y1) in original-image pixels (official rule)."""
    width, height = image_size
    short = width if width < height else height
    x = int(box.x / global_size * short)
    y = int(box.y / global_size * short)
    d = int(box.d / global_size * short)
    if width < height:
        y += (height - width) // 2
    else:
        x += (width - height) // 2
    return (x, y, x + d, y + d)


def local_input(image: Image.Image, source_box: SourceBox, local_size: int) -> np.ndarray:
    """Crop the original image and make the local branch's input [3, L, L] float32."""
    x0, y0, x1, y1 = source_box
    if x1 <= x0 or y1 <= y0:  # a box under one source pixel (tiny images): use the centre
        return normalized_array(center_crop(resize_shorter_side(image, local_size), local_size))
    return normalized_array(resize_shorter_side(image.crop(source_box), local_size))


def _namespace(array: Any) -> tuple[Any, Any]:
    """(array module, asarray placing new arrays beside `array`) for numpy or torch input.

    torch is never imported here: a torch tensor means the caller has already imported it.
    """
    if isinstance(array, np.ndarray):
        return np, np.asarray
    module = sys.modules.get(type(array).__module__.partition(".")[0])
    if module is not None and module.__name__ == "torch" and isinstance(array, module.Tensor):
        return module, functools.partial(module.as_tensor, device=array.device)
    raise TypeError(f"expected a numpy array or a torch tensor, got {type(array).__name__}")
