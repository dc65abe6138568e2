"""The one image decoder: which encoded images are accepted, their limits, and how they become RGB.

Training, evaluation, `asen embed`, the gateway's header check and the Triton models all call
these functions, so an image is accepted (or refused) the same way everywhere.

- Formats: JPEG (and MPO, the multi-picture JPEG of cameras), PNG, WebP, BMP, GIF, TIFF. Pillow is
  told to try only these parsers. The first frame of a multi-frame file is used.
- Limits, read from the header before any pixel is decoded: total pixels (decompression bombs)
  and the aspect ratio (a 100000 x 4 image is tiny encoded, but resizing its short side to the
  network's input size would make its long side enormous).
- Colour: the official code reads images with `Image.open(path).convert("RGB")`; that is what
  happens here for every 8-bit mode (grayscale, palette, CMYK, YCbCr, ...), with two deliberate
  exceptions where Pillow's conversion shows data a viewer never sees: 16-bit grayscale is scaled
  to 8 bits (Pillow would clip it to white; 16-bit colour PNGs are already reduced to their high
  byte by Pillow), and transparency is composited onto white (dropping alpha would reveal
  whatever colour happens to lie under transparent pixels, often black).
- EXIF orientation is NOT applied, like the official code: a camera photo stored sideways with an
  orientation tag is embedded sideways. Rotate such images before sending them if it matters.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import (  # noqa: F401  (registers exactly the accepted formats' parsers)
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    JpegImagePlugin,
    MpoImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    UnidentifiedImageError,
    WebPImagePlugin,
)

from asen_contract.errors import ImageError, InvalidInput, LimitExceeded

FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "BMP", "GIF", "TIFF")
_PARSERS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")  # the JPEG parser also opens MPO files
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_ASPECT_RATIO = 20.0

_SIXTEEN_BIT_GRAY = ("I;16", "I;16L", "I;16B", "I;16N", "I")
_WHITE = (255, 255, 255, 255)


@dataclass(frozen=True)
class ImageLimits:
    """What an encoded image may be: at most `max_pixels` and `max_aspect_ratio` (long / short).

    After the official resize (short side to S) the long side is at most S * max_aspect_ratio,
    so the memory of pre-processing is bounded by the limits, not by the caller.
    """

    max_pixels: int = DEFAULT_MAX_PIXELS
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO

    def __post_init__(self) -> None:
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be positive, got {self.max_pixels}")
        if not self.max_aspect_ratio >= 1:
            raise ValueError(f"max_aspect_ratio must be at least 1, got {self.max_aspect_ratio}")

    def tightest(self, other: ImageLimits) -> ImageLimits:
        """Both limits at once (a gateway's own limit and the served model's)."""
        return ImageLimits(
            min(self.max_pixels, other.max_pixels),
            min(self.max_aspect_ratio, other.max_aspect_ratio),
        )


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int
    height: int
    mode: str = ""  # Pillow's mode from the header ("RGB", "L", "CMYK", "P", ...)


def inspect_image(data: bytes, limits: ImageLimits = ImageLimits()) -> ImageHeader:
    """Format and size from the header, checked against `limits`; no pixel is decoded.

    ImageError: empty, unidentifiable or unsupported. LimitExceeded: over a limit.
    """
    with _opened(data) as image:
        return _checked_header(image, limits)


def decode_image(data: bytes, limits: ImageLimits = ImageLimits()) -> Image.Image:
    """Encoded bytes -> an 8-bit RGB image (see the module docstring for the rules)."""
    with _opened(data) as image:
        _checked_header(image, limits)
        image.load()
        return _to_rgb(image)


def decode_reduced(
    data: bytes, limits: ImageLimits, at_least: tuple[int, int]
) -> tuple[Image.Image, float]:
    """`decode_image` at the smallest JPEG scale (1/2, 1/4, 1/8: libjpeg's DCT scaling) that
    keeps the image at least `at_least` (width, height) in size: (RGB image, decoded pixels per
    original pixel). Other formats decode in full (scale 1.0). Not bit-exact: see
    `asen_contract.fast_preprocess`."""
    with _opened(data) as image:
        scale = _draft(image, _checked_header(image, limits), at_least)
        image.load()
        return _to_rgb(image), scale


def reduced_scale(data: bytes, limits: ImageLimits, at_least: tuple[int, int]) -> float:
    """The scale `decode_reduced` decodes at, from the header alone (no pixel is decoded)."""
    with _opened(data) as image:
        return _draft(image, _checked_header(image, limits), at_least)


def _draft(image: Image.Image, header: ImageHeader, at_least: tuple[int, int]) -> float:
    """Tell a JPEG's decoder to scale (Pillow's `draft`); the decoded pixels per original one."""
    if header.format in ("JPEG", "MPO"):
        drafted = image.draft(None, at_least)
        if drafted is not None:
            return drafted[1][2] / header.width
    return 1.0


def read_image_file(path: Path, limits: ImageLimits = ImageLimits()) -> Image.Image:
    """An image file decoded by `decode_image`; any failure names the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read: {error.strerror or error}") from error
    try:
        return decode_image(data, limits)
    except InvalidInput as error:
        raise type(error)(f"{path}: {error}") from error


@contextlib.contextmanager
def _opened(data: bytes) -> Iterator[Image.Image]:
    """`Image.open` restricted to the accepted formats; Pillow's errors become the contract's.

    Pillow's own decompression-bomb guard (an error above 2 x Image.MAX_IMAGE_PIXELS) stays on
    beside `max_pixels`.
    """
    if not data:
        raise ImageError("empty image")
    try:
        yield Image.open(io.BytesIO(data), formats=_PARSERS)
    except InvalidInput:
        raise
    except Image.DecompressionBombError as error:
        raise LimitExceeded(f"image rejected as a decompression bomb: {error}") from error
    except UnidentifiedImageError:
        raise ImageError(f"cannot decode image: not a {', '.join(FORMATS)} image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"cannot decode image: {error}") from error


def _checked_header(image: Image.Image, limits: ImageLimits) -> ImageHeader:
    if image.format not in FORMATS:
        raise ImageError(f"unsupported image format {image.format}")
    width, height = image.size
    if width < 1 or height < 1:
        raise ImageError(f"image of {width}x{height} pixels has no pixels")
    if width * height > limits.max_pixels:
        raise LimitExceeded(
            f"image of {width}x{height} = {width * height} pixels is over the limit "
            f"of {limits.max_pixels} pixels"
        )
    ratio = max(width, height) / min(width, height)
    if ratio > limits.max_aspect_ratio:
        raise LimitExceeded(
            f"image of {width}x{height} has an aspect ratio of {ratio:.1f}, over the limit "
            f"of {limits.max_aspect_ratio:g}"
        )
    return ImageHeader(str(image.format), width, height, str(image.mode))


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in _SIXTEEN_BIT_GRAY:
        high_byte = np.clip(np.asarray(image, dtype=np.int64), 0, 65535) >> 8
        return Image.fromarray(high_byte.astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        raise ImageError("floating-point images are not supported: save it with 8 or 16 bits")
    if _has_transparency(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, _WHITE)
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def _has_transparency(image: Image.Image) -> bool:
    return "A" in image.getbands() or "transparency" in image.info
