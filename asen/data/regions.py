"""`regions_{split}.txt`: where each attribute is visible in each image, the ground truth of the
attention-localisation metric (`asen evaluate`). The synthetic generator writes them; any data set
root may provide them.

One box per line, `fid attr x0 y0 x1 y1`: the image id (line index in `filenames_{split}.txt`),
the attribute id, and a box in pixels of the image file (x0, y0 inclusive; x1, y1 exclusive;
origin top left). An attribute visible in several places (the two sleeves) has several lines;
an (image, attribute) pair without a line has no ground truth and is left out of the metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asen.data.label_fields import check_image_and_attribute, integer_rows
from asen.data.metadata import DatasetSpec
from asen.data.problems import ProblemList

Box = tuple[int, int, int, int]
FIELDS = "fid attr x0 y0 x1 y1"


@dataclass(frozen=True)
class AttributeRegions:
    """(image id, attribute id) -> the boxes where that attribute is visible in that image."""

    boxes: dict[tuple[int, int], tuple[Box, ...]]

    def of(self, image_id: int, attribute: int) -> tuple[Box, ...]:
        return self.boxes.get((int(image_id), int(attribute)), ())

    def __len__(self) -> int:
        return len(self.boxes)


def read_regions(path: Path, spec: DatasetSpec, num_images: int) -> AttributeRegions:
    """Parse and check a region file; every problem is reported with its line number."""
    path = Path(path)
    problems = ProblemList(path)
    boxes: dict[tuple[int, int], list[Box]] = {}
    for number, fields in integer_rows(path, problems):
        if len(fields) != 6:
            problems.add(number, f"expected 6 fields `{FIELDS}`, got {len(fields)}")
            continue
        fid, attribute, x0, y0, x1, y1 = fields
        valid = check_image_and_attribute(problems, number, fid, attribute, spec, num_images)
        if min(x0, y0) < 0 or x1 <= x0 or y1 <= y0:
            problems.add(number, f"empty or negative box ({x0}, {y0}, {x1}, {y1})")
            valid = False
        if valid:
            boxes.setdefault((fid, attribute), []).append((x0, y0, x1, y1))
    problems.raise_if_any()
    return AttributeRegions({key: tuple(value) for key, value in boxes.items()})
