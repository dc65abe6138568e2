"""Field checks shared by the label readers (`label_train.txt`, `query_*.txt`, `candidate_*.txt`):
integers only, image id inside the split, attribute id known, value id inside its attribute."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from asen.data.metadata import DatasetSpec
from asen.data.problems import ProblemList
from asen.data.text_lines import read_lines


def integer_rows(path: Path, problems: ProblemList) -> Iterator[tuple[int, list[int]]]:
    """(line number, fields) of each non-blank line of whitespace-separated integers; a line with
    another field is recorded as a problem and skipped."""
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            yield number, [int(field) for field in line.split()]
        except ValueError:
            problems.add(number, f"non-integer field in {line.strip()!r}")


def check_label(
    problems: ProblemList,
    line_number: int,
    fid: int,
    attribute: int,
    value: int,
    spec: DatasetSpec,
    num_images: int,
) -> bool:
    """Record every problem of one (image, attribute, value) triple; True when it is valid."""
    valid = check_image_and_attribute(problems, line_number, fid, attribute, spec, num_images)
    if not 0 <= attribute < spec.num_attributes:
        return False
    count = spec.num_values[attribute]
    if not 0 <= value < count:
        problems.add(
            line_number,
            f"value id {value} out of range 0..{count - 1} "
            f"for attribute {attribute} ({spec.attributes[attribute]})",
        )
        valid = False
    return valid


def check_image_and_attribute(
    problems: ProblemList,
    line_number: int,
    fid: int,
    attribute: int,
    spec: DatasetSpec,
    num_images: int,
) -> bool:
    """Record whether the image id is inside the split and the attribute id known; True if both."""
    valid = True
    if not 0 <= fid < num_images:
        problems.add(line_number, f"image id {fid} out of range 0..{num_images - 1}")
        valid = False
    if not 0 <= attribute < spec.num_attributes:
        problems.add(
            line_number,
            f"unknown attribute id {attribute} ({spec.name} has ids 0..{spec.num_attributes - 1})",
        )
        valid = False
    return valid
