"""Attention localisation against ground-truth regions (`regions_{split}.txt`, `asen.data.regions`).

Per (image, attribute) pair, with the global branch's attention map (the one that decides the RoI
box) and the RoI box in original-image pixels:

- pointing game (Zhang et al., "Top-down neural attention by excitation backprop", ECCV 2016):
  a hit when the attention peak falls inside one of the attribute's boxes. The peak is the
  centre of the map's largest cell, mapped back to the image like the RoI box (official
  resize + centre-crop geometry). Like the original game's 15-pixel tolerance, a box is widened
  by half a cell on each side: at a stride of 16 a cell is 16 global-frame pixels, so a peak
  cannot be placed more precisely than that.
- roi_in_region: the share of the RoI box's area that lies on the attribute's region (how much
  of what the local branch is given is the right place);
- region_in_roi: the share of the region's area that the RoI box covers (how much of the right
  place the local branch gets to see).

`centre_pointing` is the pointing accuracy of a fixed guess, the centre cell of every map: the
level a model reaches without looking (central regions are easy to hit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from asen.data.regions import AttributeRegions, Box


@dataclass(frozen=True)
class Peak:
    """A point in original-image pixels and the half-size of one attention cell there."""

    x: float
    y: float
    half_width: float
    half_height: float


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
    """The peak of an [h, w] map (or, centre=True, the map's centre cell) in image pixels."""
    rows, cols = attention.shape
    if centre:
        row, col = rows // 2, cols // 2
    else:
        row, col = np.unravel_index(int(np.argmax(attention)), attention.shape)
    cell_x, cell_y = global_size / cols, global_size / rows
    x, y = to_source((col + 0.5) * cell_x, (row + 0.5) * cell_y, image_size, global_size)
    scale = min(image_size) / global_size
    return Peak(x, y, 0.5 * cell_x * scale, 0.5 * cell_y * scale)


def pointing_hit(peak: Peak, boxes: Sequence[Box]) -> bool:
    """True when the peak lies in a box widened by half a cell on each side."""
    return any(
        x0 - peak.half_width <= peak.x < x1 + peak.half_width
        and y0 - peak.half_height <= peak.y < y1 + peak.half_height
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
