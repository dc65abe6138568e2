"""The official pre-processing of the global branch's input, in numpy.

Official: torchvision Resize(S) (shorter side to S, PIL bilinear, long side truncated),
CenterCrop(S), ToTensor, Normalize(ImageNet mean, std). Reproduced with Pillow and numpy, so the
result is identical without torchvision; torch users wrap the array with `torch.from_numpy`.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def resize_shorter_side(image: Image.Image, size: int) -> Image.Image:
    """torchvision.transforms.Resize(size) on a PIL image: the long side is truncated."""
    width, height = image.size
    short, long = (width, height) if width <= height else (height, width)
    if short == size:
        return image
    new_long = int(size * long / short)
    new_size = (size, new_long) if width <= height else (new_long, size)
    return image.resize(new_size, Image.BILINEAR)


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """torchvision.transforms.CenterCrop(size): offsets rounded half to even, like `round`."""
    width, height = image.size
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def normalized_array(image: Image.Image) -> np.ndarray:
    """ToTensor + Normalize(ImageNet mean, std) of an RGB image: [3, H, W] float32.

    An 8-bit value has 256 possible results per channel, so they are looked up in
    `normalisation_table` instead of computed per pixel: the same float32 operations on the same
    values, so the result is bit-identical to `float_normalized_array` (tests prove it), in
    about half the time.
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[2] != 3:
        return float_normalized_array(image)
    table = normalisation_table()
    out = np.empty((3, *pixels.shape[:2]), dtype=np.float32)
    for channel in range(3):
        np.take(table[channel], pixels[:, :, channel], out=out[channel])
    return out


def float_normalized_array(image: Image.Image) -> np.ndarray:
    """`normalized_array` computed per pixel: the definition the table is built from."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    array = (array - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(array.transpose(2, 0, 1))


@functools.lru_cache(maxsize=1)
def normalisation_table() -> np.ndarray:
    """[3, 256] float32: ToTensor + Normalize of every 8-bit value, per channel, computed by the
    expression of `float_normalized_array` (read-only)."""
    values = np.arange(256, dtype=np.float32)[:, np.newaxis].repeat(3, axis=1) / 255.0
    table = np.ascontiguousarray(((values - IMAGENET_MEAN) / IMAGENET_STD).T)
    table.flags.writeable = False
    return table


def global_input(image: Image.Image, size: int) -> np.ndarray:
    """The global branch's input for one image: [3, size, size] float32."""
    return normalized_array(center_crop(resize_shorter_side(image, size), size))
