"""Colours of the synthetic garments: random nuisance colours and the belt colour families."""

from __future__ import annotations

import colorsys

import numpy as np

RGB = tuple[int, int, int]

# Hue (degrees) of each belt colour family; None = achromatic (black).
BELT_HUES: dict[str, float | None] = {
    "red": 0.0,
    "yellow": 52.0,
    "green": 125.0,
    "blue": 220.0,
    "purple": 285.0,
    "black": None,
}

SKIN_TONES: tuple[RGB, ...] = (
    (241, 204, 178),
    (224, 172, 138),
    (198, 134, 96),
    (141, 85, 54),
    (92, 58, 40),
)


def hsv(hue_degrees: float, saturation: float, value: float) -> RGB:
    red, green, blue = colorsys.hsv_to_rgb((hue_degrees % 360.0) / 360.0, saturation, value)
    return (round(red * 255), round(green * 255), round(blue * 255))


def shade(colour: RGB, factor: float) -> RGB:
    """Darker (factor < 1) or lighter (factor > 1, towards white) version of a colour."""
    if factor <= 1.0:
        return tuple(round(channel * factor) for channel in colour)  # type: ignore[return-value]
    mix = min(factor - 1.0, 1.0)
    return tuple(round(channel + (255 - channel) * mix) for channel in colour)  # type: ignore[return-value]


def garment_colour(
    rng: np.random.Generator,
    saturation: tuple[float, float] = (0.1, 0.55),
    value: tuple[float, float] = (0.45, 0.88),
) -> RGB:
    """A muted fabric colour of any hue: a nuisance the model must learn to ignore."""
    return hsv(rng.uniform(0, 360), rng.uniform(*saturation), rng.uniform(*value))


def belt_colour(family: str, rng: np.random.Generator) -> RGB:
    hue = BELT_HUES[family]
    if hue is None:
        return hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.2), rng.uniform(0.04, 0.16))
    return hsv(hue + rng.uniform(-10, 10), rng.uniform(0.7, 0.95), rng.uniform(0.6, 0.92))


def background_colour(rng: np.random.Generator) -> RGB:
    return hsv(rng.uniform(0, 360), rng.uniform(0.0, 0.25), rng.uniform(0.7, 0.98))
