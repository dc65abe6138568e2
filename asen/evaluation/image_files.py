"""Read an image file for evaluation with the same decoder (and limits) as serving."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from asen.errors import ImageError
from asen.preprocess import decode_image


def load_image_file(path: Path) -> Image.Image:
    """RGB image of a file; any failure is an ImageError that names the file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: cannot read: {error.strerror or error}") from error
    try:
        return decode_image(data)
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from error
