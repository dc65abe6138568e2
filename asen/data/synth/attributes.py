"""The synthetic garment data set's attributes and where on the garment each one is visible.

Geometry is in garment units: the garment's bounding frame is 100 units wide and 130 tall, with the
neck at the top (y = 0) and the longest hem near the bottom. Each attribute changes pixels only
inside its own region(s), so a model has to look at the right place to compare two garments.
"""

from __future__ import annotations

from asen.data.metadata import DatasetSpec

GARMENT_WIDTH = 100.0
GARMENT_HEIGHT = 130.0

# (x0, y0, x1, y1) boxes in garment units.
Box = tuple[float, float, float, float]

ATTRIBUTE_VALUES: dict[str, tuple[str, ...]] = {
    "neckline_shape": ("round", "v", "square", "boat", "high"),
    "sleeve_length": ("none", "short", "elbow", "long"),
    "hem_length": ("mini", "knee", "midi", "maxi"),
    "body_pattern": ("plain", "stripes", "dots", "checks"),
    "belt_colour": ("red", "yellow", "green", "blue", "purple", "black"),
    "button_count": ("0", "1", "2", "3", "4"),
}

ATTRIBUTE_REGIONS: dict[str, tuple[Box, ...]] = {
    "neckline_shape": ((33.0, 0.0, 67.0, 30.0),),
    "sleeve_length": ((0.0, 6.0, 32.0, 66.0), (68.0, 6.0, 100.0, 66.0)),
    "hem_length": ((0.0, 73.0, 100.0, 130.0),),
    "body_pattern": ((26.0, 8.0, 74.0, 57.0),),
    "belt_colour": ((30.0, 50.0, 70.0, 61.0),),
    "button_count": ((44.0, 28.0, 56.0, 54.0),),
}

SYNTH_SPEC = DatasetSpec(
    name="synthetic-garments",
    attributes=tuple(ATTRIBUTE_VALUES),
    num_values=tuple(len(values) for values in ATTRIBUTE_VALUES.values()),
    value_names=tuple(ATTRIBUTE_VALUES.values()),
)
