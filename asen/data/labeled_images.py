"""`query_{split}.txt` / `candidate_{split}.txt`: `fid attr value` per line. Evaluation embeds each
line's image for its attribute and ranks candidates of the same attribute for each query."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asen.data.label_fields import check_label, integer_rows
from asen.data.metadata import DatasetSpec
from asen.data.problems import ProblemList


@dataclass(frozen=True)
class LabeledImages:
    """One entry per line of the file, in file order.

    paths[i] is the image of entry i, image_ids[i] its id in the split's filenames file,
    attributes[i] / values[i] its attribute id and value id (int64 arrays).
    """

    paths: list[Path]
    image_ids: np.ndarray
    attributes: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)

    def of_attribute(self, attribute: int) -> np.ndarray:
        """Indices of the entries annotated with one attribute."""
        return np.flatnonzero(self.attributes == attribute)


def read_labeled_images(path: Path, spec: DatasetSpec, images: Sequence[Path]) -> LabeledImages:
    """Parse a query or candidate file; `images` is the split's list from read_filenames."""
    path = Path(path)
    problems = ProblemList(path)
    rows: list[tuple[int, int, int]] = []
    for number, fields in integer_rows(path, problems):
        if len(fields) != 3:
            problems.add(number, f"expected 3 fields `fid attr value`, got {len(fields)}")
            continue
        fid, attribute, value = fields
        if check_label(problems, number, fid, attribute, value, spec, len(images)):
            rows.append((fid, attribute, value))
    if not rows and not problems:
        problems.add(1, "no entries")
    problems.raise_if_any()
    table = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    return LabeledImages(
        paths=[images[fid] for fid in table[:, 0]],
        image_ids=table[:, 0].copy(),
        attributes=table[:, 1].copy(),
        values=table[:, 2].copy(),
    )
