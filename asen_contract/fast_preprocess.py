"""The opt-in fast CPU pre-processing (`asen export --cpu-preprocess fast`): not bit-exact.

A photo-sized JPEG is several times larger than the network's input, and the exact path decodes
every pixel and then throws most of them away in the resize. Here libjpeg decodes at a reduced
scale instead (DCT scaling, 1/2, 1/4 or 1/8: Pillow's `draft`), chosen per use so that the
decoded image is still at least as large as what is cut from it:
- the global input: the shorter side stays >= S, then the official resize + centre crop;
- the local inputs: every RoI box stays >= L pixels wide, then each box is resized to L x L
  straight from the decoded image (Pillow's `resize(box=...)`, no intermediate crop).
RoI boxes are computed and reported in the original image's pixels, like the exact path; only
the pixels fed to the graphs differ (the scaled decode filters differently from a full decode
followed by a bilinear resize). Other formats decode in full, as in the exact path. The cost in
accuracy is measured by `loadtests/measure_preprocess_agreement.py` (docs/runtimes.md).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

from asen_contract.images import ImageLimits, decode_reduced, inspect_image, reduced_scale
from asen_contract.preprocess import center_crop, normalized_array, resize_shorter_side
from asen_contract.roi import SourceBox, local_input

Decoded = tuple[Image.Image, float]  # (RGB image, decoded pixels per original pixel)


def global_input(data: bytes, size: int, limits: ImageLimits) -> np.ndarray:
    """The global branch's input [3, S, S] float32, from a reduced-scale decode."""
    return global_input_and_image(data, size, limits)[0]


def global_input_and_image(
    data: bytes, size: int, limits: ImageLimits
) -> tuple[np.ndarray, Decoded]:
    """`global_input` and the decoded image, for `local_inputs` to reuse in the same process."""
    decoded = decode_reduced(data, limits, (size, size))
    image = decoded[0]
    return normalized_array(center_crop(resize_shorter_side(image, size), size)), decoded


def local_inputs(
    data: bytes,
    boxes: list[SourceBox],
    size: int,
    limits: ImageLimits,
    decoded: Decoded | None = None,
) -> list[np.ndarray]:
    """The local branch's inputs [3, L, L] float32 of `boxes` (original-image pixels), from one
    reduced-scale decode that keeps the smallest box >= L pixels wide. `decoded` (the global
    input's decode) is used instead of decoding again when it is at that same scale: the same
    pixels, so the result does not depend on whether it was passed."""
    header = inspect_image(data, limits)  # the header only: no pixel is decoded
    sides = [min(x1 - x0, y1 - y0) for x0, y0, x1, y1 in boxes]
    smallest = min([side for side in sides if side > 0], default=0)
    wanted = (size, size)  # a degenerate box falls back to the whole image at L
    if smallest:
        factor = size / smallest
        wanted = (
            max(wanted[0], math.ceil(header.width * factor)),
            max(wanted[1], math.ceil(header.height * factor)),
        )
    if decoded is not None and decoded[1] == reduced_scale(data, limits, wanted):
        image, scale = decoded
    else:
        image, scale = decode_reduced(data, limits, wanted)
    return [_local(image, scale, box, size) for box in boxes]


def _local(image: Image.Image, scale: float, box: SourceBox, size: int) -> np.ndarray:
    if scale == 1.0:
        return local_input(image, box, size)
    width, height = image.size
    x0, y0, x1, y1 = (value * scale for value in box)
    x0, y0 = max(0.0, x0), max(0.0, y0)
    x1, y1 = min(float(width), x1), min(float(height), y1)
    if x1 - x0 < 1 or y1 - y0 < 1:  # under one decoded pixel: the exact path's fallback
        return local_input(image, (0, 0, 0, 0), size)
    short = min(x1 - x0, y1 - y0)
    new_size = (round(size * (x1 - x0) / short), round(size * (y1 - y0) / short))
    resized = image.resize(new_size, Image.BILINEAR, box=(x0, y0, x1, y1))
    return normalized_array(center_crop(resized, size))
