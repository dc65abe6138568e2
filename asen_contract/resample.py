"""Pillow's bilinear resize of 8-bit images as two weight matrices: the official pre-processing
(`asen_contract.preprocess`, the RoI crop's local input) as array operations on any device.

Pillow (`Image.resize(size, BILINEAR)` on an RGB image, `libImaging/Resample.c`) resizes in two
passes, horizontal first, each output sample a weighted sum of source samples with fixed-point
integer weights (22 fractional bits), rounded and clipped back to 8 bits between the passes.
Here each pass is one matrix product with the same integer weights, in float64: every product
and partial sum is an integer below 2**53, so the sums are exact whatever order a BLAS or a GPU
adds them in, and the result equals Pillow's bit for bit on a CPU and on a GPU. The
normalisation (ToTensor + ImageNet mean/std) is the 256-entry float32 table per channel of
`asen_contract.preprocess` (the one `normalized_array` looks up), so it is exact too.

Arrays are channel-first `[3, H, W]` holding 0..255 (any dtype), numpy or torch tensors on any
device (the namespace of `asen_contract.roi`); this module never imports torch.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import PIL

from asen_contract.preprocess import normalisation_table
from asen_contract.roi import SourceBox, _namespace

PRECISION_BITS = 32 - 8 - 2  # Resample.c
_ONE = float(1 << PRECISION_BITS)
_HALF = float(1 << (PRECISION_BITS - 1))
_PILLOW_MAJOR = int(PIL.__version__.split(".")[0])


@functools.lru_cache(maxsize=512)
def pillow_weights(source: int, target: int) -> np.ndarray:
    """[target, source] float64 holding Pillow's integer BILINEAR coefficients for one axis.

    `precompute_coeffs` + `normalize_coeffs_8bpc` of Resample.c, in the same double-precision
    operations and order (the window sum is accumulated left to right). Cached: callers must not
    modify the result.
    """
    scale = float(np.float32(source)) / target  # (double)(in1 - in0) / outSize, in0 = 0
    filterscale = max(scale, 1.0)
    support = 1.0 * filterscale
    inverse = 1.0 / filterscale
    weights = np.zeros((target, source), dtype=np.float64)
    for out in range(target):
        center = (out + 0.5) * scale
        first = max(int(center - support + 0.5), 0)
        stop = min(int(center + support + 0.5), source)
        taps = []
        total = 0.0
        for index in range(first, stop):
            distance = abs((index - center + 0.5) * inverse)
            weight = 1.0 - distance if distance < 1.0 else 0.0
            taps.append(weight)
            total += weight
        for offset, weight in enumerate(taps):
            normalised = weight / total if total != 0.0 else weight
            weights[out, first + offset] = math.floor(0.5 + normalised * _ONE)
    weights.flags.writeable = False
    return weights


def resize(pixels, width: int, height: int, rows=None, cols=None):
    """`Image.resize((width, height), BILINEAR)` of [C, H, W] 8-bit values -> [C, h, w] float64.

    `rows` / `cols` ((start, stop) in the output) compute only that window of the result, as a
    crop of the full resize would give (each output sample depends on its own weights only).
    The rounding between the passes makes their order matter; it is Pillow's (`_vertical_first`).
    """
    xp, asarray = _namespace(pixels)
    _, source_h, source_w = pixels.shape
    r0, r1 = rows or (0, height)
    c0, c1 = cols or (0, width)
    horizontal = width != source_w or cols is not None
    vertical = height != source_h or rows is not None
    top, bottom = _used(pillow_weights(source_h, height)[r0:r1]) if vertical else (0, source_h)
    left, right = _used(pillow_weights(source_w, width)[c0:c1]) if horizontal else (0, source_w)
    values = pixels[:, top:bottom, left:right]
    if not _is_float64(values, xp):
        values = asarray(values, dtype=xp.float64)

    def across(values):  # [C, h', W'] @ [W', w]
        weights = _weights_beside(pixels, source_w, width, transposed=True)
        return _round(xp.matmul(values, weights[left:right, c0:c1]), xp)

    def down(values):  # [h, H'] @ [C, H', w']
        weights = _weights_beside(pixels, source_h, height, transposed=False)
        return _round(xp.matmul(weights[r0:r1, top:bottom], values), xp)

    if horizontal and vertical:
        first_down = _vertical_first(source_w, source_h, width, height)
        return across(down(values)) if first_down else down(across(values))
    if horizontal:
        return across(values)
    return down(values) if vertical else values


def _vertical_first(source_w: int, source_h: int, width: int, height: int) -> bool:
    """Pillow >= 13 runs the vertical pass first when the height shrinks by more than twice as
    many pixels as the width does (`ImagingResampleInner`); earlier releases never do."""
    if _PILLOW_MAJOR < 13:
        return False
    shrink = source_h - height
    return shrink > 0 and shrink > (source_w - width) * 2


def _used(weights: np.ndarray) -> tuple[int, int]:
    """(first, stop) of the source samples a window of output samples reads."""
    used = np.flatnonzero(weights.any(axis=0))
    return (int(used[0]), int(used[-1]) + 1) if used.size else (0, 0)


def resize_shorter_side(pixels, size: int, crop: int | None = None):
    """`preprocess.resize_shorter_side` (+ `center_crop(crop)` when given) of [C, H, W]."""
    _, height, width = pixels.shape
    short, long = (width, height) if width <= height else (height, width)
    new_long = int(size * long / short)
    new_w, new_h = (size, new_long) if width <= height else (new_long, size)
    if crop is None:
        if short == size:
            return pixels
        return resize(pixels, new_w, new_h)
    top = int(round((new_h - crop) / 2.0))
    left = int(round((new_w - crop) / 2.0))
    if short == size:
        return pixels[:, top : top + crop, left : left + crop]
    return resize(pixels, new_w, new_h, rows=(top, top + crop), cols=(left, left + crop))


def normalise(pixels):
    """[3, H, W] 8-bit values -> float32 ImageNet-normalised, equal to `normalized_array`."""
    xp, asarray = _namespace(pixels)
    table = _beside(pixels, ("normalisation",), normalisation_table())
    index = asarray(pixels, dtype=xp.int64)
    return xp.stack([table[channel][index[channel]] for channel in range(3)])


def global_input(pixels, size: int):
    """`preprocess.global_input` of a decoded image given as [3, H, W]: [3, size, size] float32."""
    return normalise(resize_shorter_side(pixels, size, crop=size))


def local_input(pixels, source_box: SourceBox, local_size: int):
    """`roi.local_input` of [3, H, W]: crop (zero outside the image, as Pillow) -> [3, L, L]."""
    x0, y0, x1, y1 = source_box
    if x1 <= x0 or y1 <= y0:
        return global_input(pixels, local_size)
    return normalise(resize_shorter_side(_crop(pixels, source_box), local_size))


def _crop(pixels, box: SourceBox):
    """`Image.crop(box)`: the part outside the image is black."""
    xp, asarray = _namespace(pixels)
    _, height, width = pixels.shape
    x0, y0, x1, y1 = box
    if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
        return pixels[:, y0:y1, x0:x1]
    out = asarray(np.zeros((pixels.shape[0], y1 - y0, x1 - x0)), dtype=pixels.dtype)
    sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if sx1 > sx0 and sy1 > sy0:
        out[:, sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = pixels[:, sy0:sy1, sx0:sx1]
    return out


_BESIDE: dict[tuple, object] = {}


def _weights_beside(pixels, source: int, target: int, transposed: bool):
    """`pillow_weights` (or its transpose) as an array beside `pixels`."""
    weights = pillow_weights(source, target)
    return _beside(
        pixels, ("weights", source, target, transposed), weights.T if transposed else weights
    )


def _beside(pixels, key: tuple, array: np.ndarray):
    """A constant host array on the device of `pixels`, copied there once per device."""
    if isinstance(pixels, np.ndarray):
        return array
    key = (str(pixels.device), *key)
    found = _BESIDE.get(key)
    if found is None:
        if len(_BESIDE) > 4096:  # many distinct crop sizes: start again
            _BESIDE.clear()
        _, asarray = _namespace(pixels)
        found = _BESIDE[key] = asarray(np.array(array, order="C", copy=True))
    return found


def _round(sums, xp):
    """Resample.c's `clip8`: (sum + 2**21) >> 22, clipped to 0..255 (exact in float64)."""
    return xp.clip(xp.floor((sums + _HALF) / _ONE), 0, 255)


def _is_float64(array, xp) -> bool:
    return array.dtype == xp.float64
