"""Image decoding and the official global pre-processing.

Global input, as the official code: shorter side resized to `size` with PIL bilinear, centre crop
`size` x `size`, ToTensor, ImageNet normalisation. Reproduced with Pillow and numpy, so the
result is identical without torchvision.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from asen.errors import ImageError

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
DEFAULT_MAX_PIXELS = 40_000_000


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Encoded bytes -> RGB image; the pixel limit is checked from the header, before decoding."""
    if not data:
        raise ImageError("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageError(
                    f"image of {width}x{height} = {width * height} pixels is over the limit "
                    f"of {max_pixels} pixels"
                )
            if image.format not in ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF"):
                raise ImageError(f"unsupported image format {image.format}")
            image.load()
            return image.convert("RGB")
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageError(f"image rejected as a decompression bomb: {error}") from error
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageError(f"cannot decode image: {error}") from error


def load_image_file(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """An image file read with the serving decoder and limits; any failure names the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read: {error.strerror or error}") from error
    try:
        return decode_image(data, max_pixels)
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from error


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


def to_normalized_tensor(image: Image.Image) -> torch.Tensor:
    """ToTensor + Normalize(ImageNet mean, std): [3, H, W] float32."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    array = (array - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def global_tensor(image: Image.Image, size: int = 224) -> torch.Tensor:
    """The global branch's input for one image: [3, size, size]."""
    return to_normalized_tensor(center_crop(resize_shorter_side(image, size), size))
