"""One data set root opened for training and evaluation: its spec plus lazily read, validated
files. Each file is read and checked once, on first use, so opening a root is cheap."""

from __future__ import annotations

from pathlib import Path

from asen.data.filenames import check_images_exist, read_filenames
from asen.data.labeled_images import LabeledImages, read_labeled_images
from asen.data.layout import DatasetLayout
from asen.data.metadata import DatasetSpec
from asen.data.regions import AttributeRegions, read_regions
from asen.data.spec_file import load_dataset_spec
from asen.data.train_labels import TrainLabels, read_train_labels
from asen_contract.errors import DataFormatError


class FashionDataset:
    """A data set root in the official layout.

    check_images=True verifies, on first use of a split, that every listed image file exists
    (all missing ones are reported together).
    """

    def __init__(self, root: Path, spec: DatasetSpec, check_images: bool = True) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataFormatError(f"data set root {self.root} is not a directory")
        self.spec = spec
        self.layout = DatasetLayout(self.root)
        self.check_images = check_images
        self._images: dict[str, list[Path]] = {}
        self._train_labels: TrainLabels | None = None
        self._labeled: dict[Path, LabeledImages] = {}

    def images(self, split: str) -> list[Path]:
        """Image paths of a split (root / listed name); list index = image id."""
        if split not in self._images:
            listing = self.layout.filenames(split)
            paths = read_filenames(listing, self.root)
            if self.check_images:
                check_images_exist(paths, listing)
            self._images[split] = paths
        return self._images[split]

    def train_labels(self) -> TrainLabels:
        if self._train_labels is None:
            num_images = len(self.images("train"))
            self._train_labels = read_train_labels(self.layout.train_labels, self.spec, num_images)
        return self._train_labels

    def queries(self, split: str) -> LabeledImages:
        return self._read_labeled(self.layout.queries(split), split)

    def candidates(self, split: str) -> LabeledImages:
        return self._read_labeled(self.layout.candidates(split), split)

    def regions(self, split: str) -> AttributeRegions | None:
        """The split's attribute regions, or None when the root has no `regions_{split}.txt`."""
        path = self.layout.regions(split)
        if not path.is_file():
            return None
        return read_regions(path, self.spec, len(self.images(split)))

    def _read_labeled(self, path: Path, split: str) -> LabeledImages:
        if path not in self._labeled:
            self._labeled[path] = read_labeled_images(path, self.spec, self.images(split))
        return self._labeled[path]


def open_dataset(root: Path, name: str | None = None, check_images: bool = True) -> FashionDataset:
    """Open a root; `name` picks a built-in spec, else the root's attributes.json is used."""
    root = Path(root)
    if not root.is_dir():  # checked before the spec, whose error would be less to the point
        raise DataFormatError(f"data set root {root} is not a directory")
    return FashionDataset(root, load_dataset_spec(root, name), check_images=check_images)
