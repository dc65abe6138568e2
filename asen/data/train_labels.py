"""`label_train.txt`: `fid a1 v1 a2 v2 ...` per line. The triplet sampler needs, per attribute and
value, the training images that carry it; that index is built once here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from asen.data.label_fields import check_label, integer_rows
from asen.data.metadata import DatasetSpec
from asen.data.problems import ProblemList


@dataclass(frozen=True)
class TrainLabels:
    """Training annotations indexed for sampling.

    image_ids[attribute][value] is a sorted int64 array of the image ids (line indices of
    filenames_train.txt) annotated with that value of that attribute.
    """

    spec: DatasetSpec
    num_images: int
    image_ids: tuple[tuple[np.ndarray, ...], ...]

    @property
    def num_values(self) -> tuple[int, ...]:
        return self.spec.num_values

    def ids(self, attribute: int, value: int) -> np.ndarray:
        return self.image_ids[attribute][value]

    def counts(self) -> list[list[int]]:
        """Number of images per attribute and value."""
        return [[len(ids) for ids in per_value] for per_value in self.image_ids]


def read_train_labels(path: Path, spec: DatasetSpec, num_images: int) -> TrainLabels:
    """Parse and validate label_train.txt against the spec and the train split's image count."""
    path = Path(path)
    problems = ProblemList(path)
    buckets: list[list[list[int]]] = [[[] for _ in range(n)] for n in spec.num_values]
    for number, fields in integer_rows(path, problems):
        if len(fields) < 3 or len(fields) % 2 == 0:
            problems.add(
                number,
                f"expected `fid attr value [attr value ...]` (odd count >= 3), "
                f"got {len(fields)} field(s)",
            )
            continue
        fid = fields[0]
        seen: set[int] = set()
        for attribute, value in zip(fields[1::2], fields[2::2], strict=True):
            if attribute in seen:
                problems.add(number, f"attribute id {attribute} listed twice")
                continue
            seen.add(attribute)
            if check_label(problems, number, fid, attribute, value, spec, num_images):
                buckets[attribute][value].append(fid)
    problems.raise_if_any()
    image_ids = tuple(
        tuple(np.unique(np.asarray(ids, dtype=np.int64)) for ids in per_value)
        for per_value in buckets
    )
    return TrainLabels(spec=spec, num_images=num_images, image_ids=image_ids)
