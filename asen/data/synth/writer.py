"""Write a synthetic garment data set in exactly the official ASEN layout.

    DIR/images/{split}/{id:05d}.jpg      the garments (JPEG, quality 90)
    DIR/filenames_{train,valid,test}.txt image paths relative to DIR; line index = image id
    DIR/label_train.txt                  `fid a0 v0 a1 v1 ...` (every image has every attribute)
    DIR/query_{valid,test}.txt           `fid attr value`
    DIR/candidate_{valid,test}.txt       `fid attr value`
    DIR/regions_{train,valid,test}.txt   `fid attr x0 y0 x1 y1`: where each attribute is drawn
    DIR/attributes.json                  attribute and value names (see asen.data.spec_file)
    DIR/preview.png                      contact sheet of the first training images

The region files (`asen.data.regions`) are this generator's ground truth for attention
localisation: one line per image, attribute and box, in pixels of the image file (x1, y1
exclusive); an attribute seen in two places (the two sleeves) has two lines.

Every byte depends only on the seed and the sizes: images are drawn in parallel, but each from its
own seed, so the same settings give byte-identical files on the same library versions.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from asen.data.layout import DatasetLayout
from asen.data.spec_file import SPEC_FILENAME, spec_to_json
from asen.data.synth.attributes import SYNTH_SPEC
from asen.data.synth.garment import draw_garment
from asen.data.synth.preview import contact_sheet
from asen.data.synth.settings import SynthSettings
from asen.data.synth.splits import SPLIT_IDS, draw_labels, split_queries
from asen_contract.errors import DataFormatError

JPEG_QUALITY = 90
PREVIEW_COUNT = 24
PARALLEL_THRESHOLD = 300  # below this many images, worker start-up costs more than it saves
_OUTPUT_FILES = (
    "filenames_train.txt",
    "filenames_valid.txt",
    "filenames_test.txt",
    "label_train.txt",
    "query_valid.txt",
    "query_test.txt",
    "candidate_valid.txt",
    "candidate_test.txt",
    "regions_train.txt",
    "regions_valid.txt",
    "regions_test.txt",
    SPEC_FILENAME,
    "preview.png",
)


@dataclass(frozen=True)
class SynthSummary:
    """What `generate_synthetic_dataset` wrote (`asen data synth --json` prints it)."""

    root: str
    seed: int
    image_size: int
    difficulty: str
    images: dict[str, int]
    queries: dict[str, int]
    candidates: dict[str, int]
    attributes: list[dict[str, Any]]
    files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Task:
    path: str
    split: str
    index: int
    values: tuple[int, ...]
    seed: tuple[int, ...]
    image_size: int
    difficulty: str
    placket: bool


def _render(task: _Task) -> tuple[str, int, dict[str, tuple[tuple[int, int, int, int], ...]]]:
    """Draw and save one image; returns (split, index, its attribute regions)."""
    garment = draw_garment(task.values, task.seed, task.image_size, task.difficulty, task.placket)
    garment.image.save(task.path, format="JPEG", quality=JPEG_QUALITY)
    return task.split, task.index, garment.regions


def _prepare(root: Path, overwrite: bool) -> None:
    if root.exists() and not root.is_dir():
        raise DataFormatError(f"{root} exists and is not a directory")
    if root.is_dir() and any(root.iterdir()):
        if not overwrite:
            raise DataFormatError(
                f"{root} is not empty; choose a new directory, or overwrite a generated set"
            )
        if not (root / SPEC_FILENAME).is_file():
            raise DataFormatError(
                f"{root} is not empty and holds no {SPEC_FILENAME}; overwriting only replaces "
                "a previously generated synthetic data set"
            )
        shutil.rmtree(root / "images", ignore_errors=True)
        for name in _OUTPUT_FILES:
            (root / name).unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _label_lines(labels: np.ndarray) -> list[str]:
    return [
        " ".join([str(fid)] + [f"{a} {v}" for a, v in enumerate(row)])
        for fid, row in enumerate(labels.tolist())
    ]


def _pair_lines(labels: np.ndarray, mask: np.ndarray) -> list[str]:
    fids, attributes = np.nonzero(mask)  # row-major: by image, then attribute
    return [
        f"{f} {a} {labels[f, a]}" for f, a in zip(fids.tolist(), attributes.tolist(), strict=True)
    ]


def _region_lines(regions: list[dict[str, tuple[tuple[int, int, int, int], ...]]]) -> list[str]:
    names = list(SYNTH_SPEC.attributes)
    return [
        f"{fid} {attribute} {x0} {y0} {x1} {y1}"
        for fid, boxes in enumerate(regions)
        for attribute, name in enumerate(names)
        for x0, y0, x1, y1 in boxes[name]
    ]


def generate_synthetic_dataset(
    root: Path,
    settings: SynthSettings | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> SynthSummary:
    """Draw and write the whole data set; see the module docstring for the layout."""
    started = time.perf_counter()
    settings = settings or SynthSettings()
    root = Path(root)
    seed, image_size, counts = settings.seed, settings.image_size, settings.counts
    difficulty = settings.difficulty
    _prepare(root, overwrite)
    layout = DatasetLayout(root)

    tasks = []
    labels: dict[str, np.ndarray] = {}
    for split, count in counts.items():
        labels[split] = draw_labels(seed, split, count, SYNTH_SPEC.num_values)
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        names = [f"images/{split}/{index:05d}.jpg" for index in range(count)]
        _write_lines(layout.filenames(split), names)
        for index, name in enumerate(names):
            row = tuple(labels[split][index].tolist())
            key = (seed, SPLIT_IDS[split], 2, index)
            tasks.append(
                _Task(
                    str(root / name), split, index, row, key, image_size, difficulty,
                    settings.placket,
                )
            )  # fmt: skip
    regions = _render_all(tasks, settings.workers, progress)
    for split, count in counts.items():
        lines = _region_lines([regions[(split, index)] for index in range(count)])
        _write_lines(root / f"regions_{split}.txt", lines)

    _write_lines(layout.train_labels, _label_lines(labels["train"]))
    queries: dict[str, int] = {}
    candidates: dict[str, int] = {}
    for split in ("valid", "test"):
        is_query = split_queries(seed, split, labels[split])
        _write_lines(layout.queries(split), _pair_lines(labels[split], is_query))
        _write_lines(layout.candidates(split), _pair_lines(labels[split], ~is_query))
        queries[split] = int(is_query.sum())
        candidates[split] = int((~is_query).sum())

    spec_json = spec_to_json(SYNTH_SPEC)
    generator = {"seed": seed, "image_size": image_size, "difficulty": difficulty, **counts}
    if settings.placket:  # recorded only when set: default files stay as they were
        generator["placket"] = True
    document = dict(spec_json, generator=generator)
    (root / SPEC_FILENAME).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    shown = min(PREVIEW_COUNT, settings.train)
    sheet = contact_sheet(
        [Path(task.path) for task in tasks[:shown]], labels["train"][:shown].tolist(), SYNTH_SPEC
    )
    sheet.save(root / "preview.png", format="PNG")
    return SynthSummary(
        root=str(root),
        seed=seed,
        image_size=image_size,
        difficulty=difficulty,
        images=counts,
        queries=queries,
        candidates=candidates,
        attributes=spec_json["attributes"],
        files=[str(root / name) for name in _OUTPUT_FILES],
        seconds=round(time.perf_counter() - started, 2),
    )


def _render_all(tasks: list[_Task], workers: int | None, progress: bool) -> dict:
    """Draw every task; returns (split, index) -> the image's attribute regions."""
    workers = workers or min(os.cpu_count() or 1, 8)
    regions = {}
    bar = tqdm(total=len(tasks), desc="drawing", unit="img", file=sys.stderr, disable=not progress)
    with bar:
        if workers <= 1 or len(tasks) < PARALLEL_THRESHOLD:
            results = map(_render, tasks)
            for split, index, boxes in results:
                regions[(split, index)] = boxes
                bar.update(1)
            return regions
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers) as pool:
            for split, index, boxes in pool.imap_unordered(_render, tasks, chunksize=16):
                regions[(split, index)] = boxes
                bar.update(1)
    return regions
