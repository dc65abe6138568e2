"""The attention-guided RoI crop that feeds the local branch, with the official semantics.

attention [h, w] -> bilinear resize to G x G -> min-max -> uint8 -> binary threshold at
floor(255 * t) -> bounding rectangle -> square of side max(w, h) centred on it, kept inside the
G x G frame -> mapped back to the ORIGINAL image (scale short_edge / G, plus the centre-crop
offset) -> crop -> shorter side resized to the local size.

`attention_boxes` is the one implementation of the box: batched on any device for training and
serving; `attention_box` is its single-image form. The mapping and the crop run per image because
images differ in size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.nn import functional

from asen.preprocess import center_crop, resize_shorter_side, to_normalized_tensor


@dataclass(frozen=True)
class SquareBox:
    """A square in the G x G global frame: left, top, side."""

    x: int
    y: int
    d: int


def attention_boxes(attention: torch.Tensor, global_size: int, threshold: float) -> torch.Tensor:
    """attention [B, h, w] -> squares [B, 3] (x, y, d) in the global frame, as int64."""
    maps = functional.interpolate(
        attention.float().unsqueeze(1),
        size=(global_size, global_size),
        mode="bilinear",
        align_corners=False,
    ).squeeze(1)
    flat = maps.flatten(1)
    low = flat.min(dim=1).values.view(-1, 1, 1)
    high = flat.max(dim=1).values.view(-1, 1, 1)
    span = high - low
    # A flat map (no attention peak) selects the whole frame instead of dividing by zero.
    normalized = torch.where(span > 0, (maps - low) / span.clamp_min(1e-30), torch.ones_like(maps))
    as_uint8 = (normalized * 255).to(torch.uint8)  # truncation, like numpy's uint8 cast
    selected = as_uint8 > math.floor(255 * threshold)

    rows = selected.any(dim=2)
    cols = selected.any(dim=1)
    positions = torch.arange(global_size, device=attention.device)
    big = global_size + 1
    y0 = torch.where(rows, positions, big).min(dim=1).values
    y1 = torch.where(rows, positions, -1).max(dim=1).values
    x0 = torch.where(cols, positions, big).min(dim=1).values
    x1 = torch.where(cols, positions, -1).max(dim=1).values
    empty = y1 < 0  # nothing selected: OpenCV's boundingRect gives (0, 0, 0, 0)
    x0 = torch.where(empty, 0, x0)
    y0 = torch.where(empty, 0, y0)
    w = torch.where(empty, 0, x1 - x0 + 1)
    h = torch.where(empty, 0, y1 - y0 + 1)

    d = torch.maximum(w, h)
    xc = x0 + torch.div(w, 2, rounding_mode="floor")
    yc = y0 + torch.div(h, 2, rounding_mode="floor")
    half = torch.div(d, 2, rounding_mode="floor")
    x = torch.where(xc + half > global_size, global_size - d, (xc - half).clamp_min(0))
    y = torch.where(yc + half > global_size, global_size - d, (yc - half).clamp_min(0))
    return torch.stack((x, y, d), dim=1).long()


def attention_box(attention: np.ndarray | torch.Tensor, global_size: int, threshold: float):
    """Single-image form of `attention_boxes`: attention [h, w] -> SquareBox."""
    tensor = torch.as_tensor(np.asarray(attention, dtype=np.float32))
    x, y, d = attention_boxes(tensor.unsqueeze(0), global_size, threshold)[0].tolist()
    return SquareBox(x, y, d)


def box_in_source(box: SquareBox, image_size: tuple[int, int], global_size: int):
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


def local_tensor(
    image: Image.Image, source_box: tuple[int, int, int, int], local_size: int
) -> torch.Tensor:
    """Crop the original image and make the local branch's input [3, L, L]."""
    x0, y0, x1, y1 = source_box
    if x1 <= x0 or y1 <= y0:  # a box under one source pixel (tiny images): use the centre
        return to_normalized_tensor(center_crop(resize_shorter_side(image, local_size), local_size))
    return to_normalized_tensor(resize_shorter_side(image.crop(source_box), local_size))
