"""Images as a request names them: bytes or a SHA-256 reference, and a cheap header check.

The header check (format, width x height) runs in the gateway before an image is sent to Triton,
so empty, unidentifiable and oversized images (decompression bombs) are rejected without
spending a Triton call; a full decode (truncated data) is left to Triton, which reports it.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from asen_contract.errors import ImageError, InvalidInput, LimitExceeded

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FORMATS = ("JPEG", "PNG", "WEBP")


@dataclass(frozen=True)
class ImageRef:
    """What a caller sent for one image: its encoded bytes, or the SHA-256 of bytes the service
    has already embedded (both None: the caller set neither)."""

    data: bytes | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class ImageInput:
    """One checked image of a request: `data` is None when the caller sent only its SHA-256."""

    sha256: str
    data: bytes | None
    label: str  # how messages name it: "image a", "query image", "candidate 3"

    @classmethod
    def of(cls, ref: ImageRef, label: str) -> ImageInput:
        if ref.data is not None:
            return cls.from_bytes(ref.data, label)
        if ref.sha256 is not None:
            return cls.from_sha256(ref.sha256, label)
        raise InvalidInput(f"{label} is empty (set data or sha256)")

    @classmethod
    def from_bytes(cls, data: bytes, label: str) -> ImageInput:
        if not data:
            raise ImageError(f"{label} is empty")
        return cls(sha256=hashlib.sha256(data).hexdigest(), data=data, label=label)

    @classmethod
    def from_sha256(cls, digest: str, label: str) -> ImageInput:
        digest = digest.strip().lower()
        if not _SHA256.match(digest):
            raise InvalidInput(f"{label}: sha256 must be 64 hex digits, got {digest[:80]!r}")
        return cls(sha256=digest, data=None, label=label)


def check_image(image: ImageInput, max_pixels: int) -> None:
    """Reject what Triton need not see: unknown formats and images over the pixel limit."""
    assert image.data is not None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(image.data), formats=_FORMATS) as img:
                width, height = img.size
    except Image.DecompressionBombError:
        raise LimitExceeded(f"{image.label} has too many pixels (decompression bomb)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageError(f"{image.label} is not a decodable JPEG, PNG or WebP image") from None
    if max_pixels > 0 and width * height > max_pixels:
        raise LimitExceeded(
            f"{image.label} is {width}x{height} = {width * height} pixels; "
            f"the limit is {max_pixels}"
        )
