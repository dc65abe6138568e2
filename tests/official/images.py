"""Test images with one compact, distinct region (a garment part, roughly) on a smooth
background, of assorted sizes and aspect ratios."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

SIZES = [(90, 150), (170, 100), (96, 96), (50, 70), (300, 200)]


def blob_image(size: tuple[int, int], seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    base = rng.uniform(60, 200, size=3)
    slope = rng.uniform(-40, 40, size=(2, 3))
    pixels = base + xs[..., None] / width * slope[0] + ys[..., None] / height * slope[1]
    pixels += rng.normal(0, 6, size=pixels.shape)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    short = min(size)
    radius = rng.uniform(0.12, 0.22) * short
    cx = rng.uniform(radius, width - radius)
    cy = rng.uniform(radius, height - radius)
    colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour)
    return image


def assorted_images(seed: int = 0) -> list[Image.Image]:
    return [blob_image(size, seed + index) for index, size in enumerate(SIZES)]
