"""Small data set roots written on the fly (helpers of the data tests)."""

from __future__ import annotations

from pathlib import Path

from asen.data.metadata import DatasetSpec
from asen.data.spec_file import write_spec_file
from asen.data.synth import SynthSettings

TINY_SPEC = DatasetSpec(
    name="tiny",
    attributes=("colour", "length"),
    num_values=(3, 2),
    value_names=(("red", "green", "blue"), ("short", "long")),
)

# Six training images, each labelled with both attributes, two images per value at least.
GOOD_TRAIN_LABELS = ["0 0 0 1 0", "1 0 0 1 1", "2 0 1 1 0", "3 0 1 1 1", "4 0 2 1 0", "5 0 2 1 1"]


def write_root(
    root: Path,
    files: dict[str, list[str]] | None = None,
    counts: dict[str, int] | None = None,
    make_images: bool = True,
) -> Path:
    """A data set root in the official layout with TINY_SPEC; `files` overrides any file's lines."""
    counts = {"train": 6, "valid": 4, "test": 4, **(counts or {})}
    root.mkdir(parents=True, exist_ok=True)
    write_spec_file(root, TINY_SPEC)
    contents: dict[str, list[str]] = {
        "label_train.txt": GOOD_TRAIN_LABELS,
        "query_valid.txt": ["0 0 0", "1 1 1"],
        "candidate_valid.txt": ["2 0 0", "3 0 1", "2 1 1", "3 1 0"],
        "query_test.txt": ["0 0 2"],
        "candidate_test.txt": ["1 0 2", "2 0 1", "3 1 0"],
    }
    for split, count in counts.items():
        names = [f"images/{split}/{index}.jpg" for index in range(count)]
        contents[f"filenames_{split}.txt"] = names
        if make_images:
            for name in names:
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                (root / name).write_bytes(b"not decoded by the readers")
    contents.update(files or {})
    for name, lines in contents.items():
        (root / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return root


SMALL_SYNTH = SynthSettings(seed=3, train=24, valid=12, test=12, image_size=48)
