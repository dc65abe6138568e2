"""Encoded test images in every accepted format and colour mode, made with Pillow.

Pillow cannot write 16-bit colour PNGs, so `png_16bit` is a minimal PNG encoder.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_16bit(array: np.ndarray, colour_type: int) -> bytes:
    """A 16-bit PNG (colour type 0 gray, 2 RGB, 4 gray+alpha, 6 RGBA) from a uint16 array."""
    height, width = array.shape[:2]
    rows = array.reshape(height, -1).astype(">u2")
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return _png(header, zlib.compress(raw))


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return _png(header, zlib.compress(b"\x00" * (1 + 3 * 64) * 8))


def _png(header: bytes, compressed_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", compressed_rows) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def format_samples(image: Image.Image) -> dict[str, bytes]:
    """`image` (RGB) in each format and colour mode the decoder must accept, by case name."""
    pixels = np.asarray(image)
    alpha = np.tile(np.linspace(0, 255, image.width).astype(np.uint8), (image.height, 1))
    palette = image.quantize(colors=32)
    return {
        "jpeg": encode(image, "JPEG", quality=95),
        "mpo": encode(image, "MPO", save_all=True, append_images=[image.rotate(180)]),
        "cmyk-jpeg": encode(image.convert("CMYK"), "JPEG", quality=95),
        "gray-jpeg": encode(image.convert("L"), "JPEG", quality=95),
        "png-16bit-gray": png_16bit(np.asarray(image.convert("L")).astype(np.uint32) * 257, 0),
        "png-16bit-rgb": png_16bit(pixels.astype(np.uint32) * 257, 2),
        "png-rgba": encode(Image.fromarray(np.dstack([pixels, alpha]), "RGBA"), "PNG"),
        "png-palette-transparent": encode(palette, "PNG", transparency=0),
        "gif": encode(palette, "GIF"),
        "webp": encode(image, "WEBP", lossless=True),
        "bmp": encode(image, "BMP"),
        "tiff": encode(image, "TIFF"),
    }
