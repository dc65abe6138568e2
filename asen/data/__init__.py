"""The data layer: attribute metadata, readers of the official ASEN file layout, the triplet
sampler, and (in `asen.data.synth`) a synthetic garment data set in that same layout."""

from asen.data.dataset import FashionDataset, open_dataset
from asen.data.filenames import check_images_exist, read_filenames
from asen.data.labeled_images import LabeledImages, read_labeled_images
from asen.data.layout import EVAL_SPLITS, SPLITS, DatasetLayout
from asen.data.metadata import (
    BUILTIN_SPECS,
    DatasetSpec,
    builtin_dataset_names,
    get_dataset_spec,
)
from asen.data.sampler import TripletBatch, TripletSampler
from asen.data.spec_file import SPEC_FILENAME, load_dataset_spec, read_spec_file, write_spec_file
from asen.data.train_labels import TrainLabels, read_train_labels

__all__ = [
    "BUILTIN_SPECS",
    "EVAL_SPLITS",
    "SPEC_FILENAME",
    "SPLITS",
    "DatasetLayout",
    "DatasetSpec",
    "FashionDataset",
    "LabeledImages",
    "TrainLabels",
    "TripletBatch",
    "TripletSampler",
    "builtin_dataset_names",
    "check_images_exist",
    "get_dataset_spec",
    "load_dataset_spec",
    "open_dataset",
    "read_filenames",
    "read_labeled_images",
    "read_spec_file",
    "read_train_labels",
    "write_spec_file",
]
