"""File names of the official data set layout (as the ASEN/ASEN++ code reads them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from asen_contract.errors import DataFormatError

SPLITS = ("train", "valid", "test")
EVAL_SPLITS = ("valid", "test")


def _check_split(split: str, allowed: tuple[str, ...]) -> None:
    if split not in allowed:
        raise DataFormatError(f"unknown split {split!r}; choose one of: {', '.join(allowed)}")


@dataclass(frozen=True)
class DatasetLayout:
    """Paths of one data set root's files; image paths inside them are relative to `root`."""

    root: Path

    def filenames(self, split: str) -> Path:
        _check_split(split, SPLITS)
        return self.root / f"filenames_{split}.txt"

    @property
    def train_labels(self) -> Path:
        return self.root / "label_train.txt"

    def queries(self, split: str) -> Path:
        _check_split(split, EVAL_SPLITS)
        return self.root / f"query_{split}.txt"

    def candidates(self, split: str) -> Path:
        _check_split(split, EVAL_SPLITS)
        return self.root / f"candidate_{split}.txt"

    def regions(self, split: str) -> Path:
        """Optional: attribute regions per image (`asen.data.regions`)."""
        _check_split(split, SPLITS)
        return self.root / f"regions_{split}.txt"
