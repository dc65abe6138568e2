"""`filenames_{split}.txt`: one image path per line, relative to the data set root; line index =
image id. Every other file of the split refers to images by that id."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from asen.data.problems import ProblemList
from asen.data.text_lines import read_lines
from asen_contract.errors import DataFormatError

MISSING_SHOWN = 10


def read_filenames(path: Path, root: Path | None = None) -> list[Path]:
    """Image paths listed in a filenames file, resolved against `root` (default: its folder).

    Blank lines are errors, not skipped: skipping one would shift every later image id.
    """
    path = Path(path)
    root = path.parent if root is None else Path(root)
    problems = ProblemList(path)
    images: list[Path] = []
    for number, line in enumerate(read_lines(path), start=1):
        name = line.strip()
        if not name:
            problems.add(number, "empty line (line index is the image id, so none may be blank)")
        elif os.path.isabs(name):
            problems.add(number, f"absolute path {name!r}; paths are relative to the data set root")
        images.append(root / name)
    if not images and not problems:
        problems.add(1, "no image paths")
    problems.raise_if_any()
    return images


def check_images_exist(paths: Sequence[Path], listed_in: Path | str) -> None:
    """Check every image at once and report all missing ones together (count + first few)."""
    missing = [path for path in paths if not os.path.isfile(path)]
    if not missing:
        return
    shown = "\n".join(f"  {path}" for path in missing[:MISSING_SHOWN])
    more = (
        f"\n  ... and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
    )
    raise DataFormatError(
        f"{len(missing)} of {len(paths)} images listed in {listed_in} are missing:\n{shown}{more}"
    )
