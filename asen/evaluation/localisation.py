"""Attention localisation against ground-truth regions (`regions_{split}.txt`, `asen.data.regions`).

Per (image, attribute) pair, with the global branch's attention map (the one that decides the RoI
box) and the RoI box in original-image pixels:

- pointing game (Zhang et al., "Top-down neural attention by excitation backprop", ECCV 2016):
  a hit when the attention peak falls inside one of the attribute's boxes. The peak is the centre
  of the map's largest cell, mapped back to the image like the RoI box (official resize +
  centre-crop geometry). The original game allows 15 pixels of tolerance (3-5 % of its images);
  here a box is widened by a quarter of a cell on each side (a cell is 16 global-frame pixels,
  so 4 pixels, 3.6 % of a 112 px frame): a hit means the region overlaps the central half of
  the peak cell. A 7 x 7 map cannot place a peak more finely (its cells are as tall as the belt).
- roi_in_region: the share of the RoI box's area that lies on the attribute's region (how much
  of what the local branch is given is the right place);
- region_in_roi: the share of the region's area that the RoI box covers (how much of the right
  place the local branch gets to see).

`centre_pointing` is the pointing accuracy of a fixed guess, the centre of every frame: the level
a model reaches without looking (it hits a region at the centre of the garment, the belt).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asen.data.regions import AttributeRegions, Box

TOLERANCE_CELLS = 0.25


@dataclass(frozen=True)
class Peak:
    """A point in original-image pixels and the tolerance around it (pixels, per axis)."""

    x: float
    y: float
    tolerance_x: float
    tolerance_y: float


def to_source(
    x: float, y: float, image_size: tuple[int, int], global_size: int
) -> tuple[float, float]:
    """A global-frame point -> original-image pixels (the official resize + centre crop)."""
    width, height = image_size
    short = min(width, height)
    scale = short / global_size
    if width < height:
        return x * scale, y * scale + (height - width) // 2
    return x * scale + (width - height) // 2, y * scale


def attention_peak(
    attention: np.ndarray, image_size: tuple[int, int], global_size: int, centre: bool = False
) -> Peak:
    """The centre of an [h, w] map's largest cell (or, centre=True, the frame's centre), in image
    pixels, with a tolerance of TOLERANCE_CELLS of a cell."""
    rows, cols = attention.shape
    cell_x, cell_y = global_size / cols, global_size / rows
    if centre:
        x, y = to_source(global_size / 2, global_size / 2, image_size, global_size)
    else:
        row, col = np.unravel_index(int(np.argmax(attention)), attention.shape)
        x, y = to_source((col + 0.5) * cell_x, (row + 0.5) * cell_y, image_size, global_size)
    scale = min(image_size) / global_size * TOLERANCE_CELLS
    return Peak(x, y, cell_x * scale, cell_y * scale)


def pointing_hit(peak: Peak, boxes: Sequence[Box]) -> bool:
    """True when the peak lies in a box (x0, y0 inclusive; x1, y1 exclusive) widened by the
    peak's tolerance on each side."""
    return any(
        x0 - peak.tolerance_x <= peak.x < x1 + peak.tolerance_x
        and y0 - peak.tolerance_y <= peak.y < y1 + peak.tolerance_y
        for x0, y0, x1, y1 in boxes
    )


def box_shares(
    roi: Sequence[float], boxes: Sequence[Box], image_size: tuple[int, int]
) -> tuple[float, float]:
    """(share of the RoI box on the region, share of the region inside the RoI box).

    The region is the union of the boxes, both clipped to the image; areas count pixels.
    """
    width, height = image_size
    mask = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in boxes:
        mask[max(0, y0) : min(height, y1), max(0, x0) : min(width, x1)] = True
    rx0, ry0, rx1, ry1 = (int(round(v)) for v in roi)
    rx0, ry0 = max(0, rx0), max(0, ry0)
    rx1, ry1 = min(width, rx1), min(height, ry1)
    roi_area = max(0, rx1 - rx0) * max(0, ry1 - ry0)
    region_area = int(mask.sum())
    inside = int(mask[ry0:ry1, rx0:rx1].sum()) if roi_area else 0
    return (inside / roi_area if roi_area else 0.0, inside / region_area if region_area else 0.0)


@dataclass
class LocalisationTally:
    """Running sums for one attribute."""

    pairs: int = 0
    hits: int = 0
    centre_hits: int = 0
    roi_in_region: float = 0.0
    region_in_roi: float = 0.0

    def add(self, hit: bool, centre_hit: bool, shares: tuple[float, float]) -> None:
        self.pairs += 1
        self.hits += hit
        self.centre_hits += centre_hit
        self.roi_in_region += shares[0]
        self.region_in_roi += shares[1]

    def to_dict(self) -> dict[str, float | int]:
        count = max(self.pairs, 1)
        return {
            "pointing": self.hits / count,
            "centre_pointing": self.centre_hits / count,
            "roi_in_region": self.roi_in_region / count,
            "region_in_roi": self.region_in_roi / count,
            "localised_pairs": self.pairs,
        }


def localisation_scores(
    pairs: np.ndarray,
    attention: np.ndarray,
    rois: np.ndarray,
    image_sizes: Sequence[tuple[int, int]],
    regions: AttributeRegions,
    global_size: int,
    attribute_names: Sequence[str],
) -> dict[str, dict[str, float | int]]:
    """Per attribute name with ground truth: pointing, centre_pointing, roi_in_region,
    region_in_roi (means over the pairs) and localised_pairs.

    pairs [N, 2] (image id, attribute id); attention [N, h, w]; rois [N, 4] in image pixels;
    image_sizes[i] = (width, height) of pair i's image.
    """
    tallies: dict[int, LocalisationTally] = {}
    for index, (image_id, attribute) in enumerate(np.asarray(pairs).tolist()):
        boxes = regions.of(image_id, attribute)
        if not boxes:
            continue
        size = tuple(image_sizes[index])
        hit = pointing_hit(attention_peak(attention[index], size, global_size), boxes)
        centre = pointing_hit(attention_peak(attention[index], size, global_size, True), boxes)
        tally = tallies.setdefault(attribute, LocalisationTally())
        tally.add(hit, centre, box_shares(rois[index], boxes, size))
    return {attribute_names[a]: tallies[a].to_dict() for a in sorted(tallies)}
