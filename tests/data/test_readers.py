from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from asen.data import open_dataset, read_filenames, read_labeled_images, read_train_labels
from asen_contract.errors import DataFormatError

from .roots import TINY_SPEC

MakeRoot = Callable[..., Path]


def problem_lines(message: str, filename: str) -> list[int]:
    """Line numbers the error message attributes to `filename`."""
    return [int(number) for number in re.findall(rf"{re.escape(filename)}:(\d+):", message)]


def test_good_root_loads_into_typed_results(make_root: MakeRoot) -> None:
    dataset = open_dataset(make_root())
    assert dataset.spec == TINY_SPEC
    train = dataset.images("train")
    assert len(train) == 6 and train[0] == dataset.root / "images/train/0.jpg"
    labels = dataset.train_labels()
    assert labels.counts() == [[2, 2, 2], [3, 3]]
    assert labels.ids(0, 1).tolist() == [2, 3]
    assert labels.ids(1, 1).dtype == np.int64
    queries = dataset.queries("valid")
    assert len(queries) == 2
    assert queries.paths == [
        dataset.root / "images/valid/0.jpg",
        dataset.root / "images/valid/1.jpg",
    ]
    assert queries.image_ids.tolist() == [0, 1]
    assert queries.attributes.tolist() == [0, 1]
    assert queries.values.tolist() == [0, 1]
    candidates = dataset.candidates("test")
    assert candidates.of_attribute(0).tolist() == [0, 1]


def test_every_train_label_problem_is_reported_with_file_and_line(make_root: MakeRoot) -> None:
    lines = [
        "0 0 0 1 0",  # 1 good
        "1 0 x",  # 2 non-integer
        "2 0 1 1",  # 3 even field count
        "9 0 1",  # 4 fid out of range (6 train images)
        "3 7 0",  # 5 unknown attribute
        "4 0 3",  # 6 value out of range (colour has 3 values)
        "",  # blank lines are skipped
        "5 1 0 1 1",  # 8 attribute listed twice
    ]
    root = make_root(files={"label_train.txt": lines})
    with pytest.raises(DataFormatError) as caught:
        open_dataset(root).train_labels()
    message = str(caught.value)
    assert problem_lines(message, "label_train.txt") == [2, 3, 4, 5, 6, 8]
    assert "6 problems" in message
    assert "image id 9 out of range 0..5" in message
    assert "unknown attribute id 7" in message
    assert "value id 3 out of range 0..2 for attribute 0 (colour)" in message
    assert "listed twice" in message


def test_query_file_problems(make_root: MakeRoot) -> None:
    lines = ["0 0 0", "1 0", "1 0 0 0", "4 0 0", "2 2 0", "3 1 2", "a b c"]
    root = make_root(files={"query_valid.txt": lines})
    with pytest.raises(DataFormatError) as caught:
        open_dataset(root).queries("valid")
    message = str(caught.value)
    assert problem_lines(message, "query_valid.txt") == [2, 3, 4, 5, 6, 7]
    assert "expected 3 fields `fid attr value`, got 2" in message


def test_long_problem_lists_are_capped(make_root: MakeRoot) -> None:
    root = make_root(files={"candidate_test.txt": ["0 0 9"] * 35})
    with pytest.raises(DataFormatError) as caught:
        open_dataset(root).candidates("test")
    message = str(caught.value)
    assert "35 problems" in message
    assert len(problem_lines(message, "candidate_test.txt")) == 20
    assert "... and 15 more" in message


def test_blank_line_in_filenames_would_shift_ids(make_root: MakeRoot) -> None:
    root = make_root(files={"filenames_train.txt": ["images/train/0.jpg", "", "images/a.jpg"]})
    with pytest.raises(DataFormatError, match=r"filenames_train.txt:2: empty line"):
        open_dataset(root, check_images=False).images("train")


def test_missing_images_are_reported_together(make_root: MakeRoot) -> None:
    root = make_root(counts={"train": 30}, make_images=False)
    for index in range(15):
        path = root / f"images/train/{index}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    with pytest.raises(DataFormatError) as caught:
        open_dataset(root).images("train")
    message = str(caught.value)
    assert "15 of 30 images listed in" in message and "filenames_train.txt" in message
    assert "images/train/15.jpg" in message
    assert "... and 5 more" in message
    # Without the image check, the listing alone loads.
    assert len(open_dataset(root, check_images=False).images("train")) == 30


def test_missing_file_is_a_data_format_error(make_root: MakeRoot) -> None:
    root = make_root()
    (root / "query_test.txt").unlink()
    with pytest.raises(DataFormatError, match="query_test.txt does not exist"):
        open_dataset(root).queries("test")


def test_unknown_split_is_rejected(make_root: MakeRoot) -> None:
    with pytest.raises(DataFormatError, match="valid, test"):
        open_dataset(make_root()).queries("train")


def test_readers_work_without_the_dataset_object(make_root: MakeRoot) -> None:
    root = make_root()
    images = read_filenames(root / "filenames_valid.txt")
    assert images[3] == root / "images/valid/3.jpg"
    labels = read_train_labels(root / "label_train.txt", TINY_SPEC, num_images=6)
    assert labels.num_images == 6
    candidates = read_labeled_images(root / "candidate_valid.txt", TINY_SPEC, images)
    assert candidates.values.tolist() == [0, 1, 1, 0]
