from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from asen.data import open_dataset
from asen.data.summary import summarize_dataset
from asen.data.synth import (
    ATTRIBUTE_VALUES,
    SYNTH_SPEC,
    SynthSettings,
    draw_garment,
    generate_synthetic_dataset,
)
from asen_contract.errors import ConfigError, DataFormatError

from .roots import SMALL_SYNTH

ATTRIBUTES = list(ATTRIBUTE_VALUES)


def digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_same_seed_gives_byte_identical_files(synth_root: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_synthetic_dataset(again, SMALL_SYNTH, progress=False)
    assert digests(again) == digests(synth_root)
    other = tmp_path / "other"
    generate_synthetic_dataset(other, replace(SMALL_SYNTH, seed=4), progress=False)
    assert digests(other)["images/train/00000.jpg"] != digests(synth_root)["images/train/00000.jpg"]


def test_readers_load_what_synth_writes(synth_root: Path) -> None:
    dataset = open_dataset(synth_root)
    assert dataset.spec == SYNTH_SPEC
    summary = summarize_dataset(dataset)
    assert summary["warnings"] == []
    assert summary["images"] == {"train": 24, "valid": 12, "test": 12}
    counts = dataset.train_labels().counts()
    assert [sum(per_value) for per_value in counts] == [24] * len(ATTRIBUTES)
    assert all(min(per_value) >= 2 for per_value in counts)
    for split in ("valid", "test"):
        queries, candidates = dataset.queries(split), dataset.candidates(split)
        pairs = set(zip(queries.image_ids.tolist(), queries.attributes.tolist(), strict=True))
        pairs |= set(
            zip(candidates.image_ids.tolist(), candidates.attributes.tolist(), strict=True)
        )
        assert len(pairs) == len(queries) + len(candidates) == 12 * len(ATTRIBUTES)
        assert all(len(queries.of_attribute(a)) > 0 for a in range(len(ATTRIBUTES)))
    assert (synth_root / "preview.png").is_file()
    sizes = {Image.open(path).size for path in dataset.images("train")}
    assert sizes == {(48, 48)}  # easy: square (hard varies them, tested below)


def test_sizes_are_validated(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="valid must be at least 12"):
        SynthSettings(valid=5)


def test_refuses_to_write_into_a_foreign_directory(tmp_path: Path, synth_root: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(DataFormatError, match="not empty"):
        generate_synthetic_dataset(tmp_path, SMALL_SYNTH, progress=False)
    with pytest.raises(DataFormatError, match="no attributes.json"):
        generate_synthetic_dataset(tmp_path, SMALL_SYNTH, progress=False, overwrite=True)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def region_mask(
    regions: tuple[tuple[int, int, int, int], ...], shape: tuple[int, int], margin: int
) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for x0, y0, x1, y1 in regions:
        mask[max(0, y0 - margin) : y1 + margin, max(0, x0 - margin) : x1 + margin] = True
    return mask


@pytest.mark.parametrize("difficulty", ["easy", "hard", "easy+placket"])
@pytest.mark.parametrize("attribute", ATTRIBUTES)
def test_each_attribute_changes_only_its_own_region(attribute: str, difficulty: str) -> None:
    difficulty, _, placket = difficulty.partition("+")
    rng = np.random.default_rng(ATTRIBUTES.index(attribute))
    index = ATTRIBUTES.index(attribute)
    count = len(ATTRIBUTE_VALUES[attribute])
    for seed in range(6):
        values = [int(rng.integers(len(choices))) for choices in ATTRIBUTE_VALUES.values()]
        changed = list(values)
        changed[index] = (values[index] + 1 + int(rng.integers(count - 1))) % count
        first = draw_garment(values, seed, 160, difficulty, placket=bool(placket))
        second = draw_garment(changed, seed, 160, difficulty, placket=bool(placket))
        assert first.image.size == second.image.size
        a = np.asarray(first.image, dtype=np.int32)
        b = np.asarray(second.image, dtype=np.int32)
        diff = np.abs(a - b).sum(axis=2)
        assert diff.sum() > 0, f"{attribute} {values[index]}->{changed[index]} changed nothing"
        inside = region_mask(first.regions[attribute], diff.shape, margin=3)
        share = diff[inside].sum() / diff.sum()
        assert share > 0.97, f"{attribute}: only {share:.2f} of the change lies in its region"


def test_values_can_be_given_by_name() -> None:
    by_id = draw_garment([1, 3, 0, 2, 5, 4], seed=1, image_size=64)
    by_name = draw_garment(
        {
            "neckline_shape": "v",
            "sleeve_length": "long",
            "hem_length": "mini",
            "body_pattern": "dots",
            "belt_colour": "black",
            "button_count": "4",
        },
        seed=1,
        image_size=64,
    )
    assert by_id.image.tobytes() == by_name.image.tobytes()
    with pytest.raises(ValueError, match="hem_length"):
        draw_garment({**dict.fromkeys(ATTRIBUTES, 0), "hem_length": "ankle"}, seed=1)


def test_cli_synth_and_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from asen.cli.main import main

    root = tmp_path / "cli"
    argv = ["data", "synth", "--out", str(root), "--train", "12", "--valid", "12", "--test", "12"]
    assert main([*argv, "--image-size", "40", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == {"train": 12, "valid": 12, "test": 12}
    assert [a["name"] for a in summary["attributes"]] == ATTRIBUTES
    assert main(["data", "check", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []
    (root / "query_test.txt").write_text("0 0 99\n")
    assert main(["data", "check", str(root)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("asen data: error: 1 problem in ")
    assert "query_test.txt:1: value id 99 out of range 0..4" in error


def test_region_files_hold_every_attribute_of_every_image(synth_root: Path) -> None:
    dataset = open_dataset(synth_root)
    for split in ("train", "valid", "test"):
        regions = dataset.regions(split)
        paths = dataset.images(split)
        assert regions is not None and len(regions) == len(paths) * len(ATTRIBUTES)
        for image_id, path in enumerate(paths):
            width, height = Image.open(path).size
            for attribute, name in enumerate(ATTRIBUTES):
                boxes = regions.of(image_id, attribute)
                assert len(boxes) == (2 if name == "sleeve_length" else 1)
                for x0, y0, x1, y1 in boxes:
                    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    # The exported boxes are the generator's own regions for that image.
    from asen.data.synth.splits import draw_labels

    labels = draw_labels(SMALL_SYNTH.seed, "train", SMALL_SYNTH.train, SYNTH_SPEC.num_values)
    first = draw_garment(labels[0].tolist(), (SMALL_SYNTH.seed, 0, 2, 0), SMALL_SYNTH.image_size)
    train = dataset.regions("train")
    assert train is not None
    assert [train.of(0, a) for a in range(len(ATTRIBUTES))] == [
        first.regions[name] for name in ATTRIBUTES
    ]


def test_region_reader_reports_every_bad_line(tmp_path: Path) -> None:
    from asen.data.regions import read_regions

    path = tmp_path / "regions_test.txt"
    path.write_text("0 0 1 2 3 4\n0 1 5 5 9 9\n0 1 9 9 12 12\n7 0 1 1 2 2\n0 9 1 1 2 2\n"
                    "0 0 5 5 5 9\n0 0 1 2 3\nx 0 1 2 3 4\n")  # fmt: skip
    with pytest.raises(DataFormatError) as error:
        read_regions(path, SYNTH_SPEC, num_images=2)
    message = str(error.value)
    assert message.startswith(f"5 problems in {path}:")
    for expected in (
        ":4: image id 7 out of range 0..1",
        ":5: unknown attribute id 9",
        ":6: empty or negative box (5, 5, 5, 9)",
        ":7: expected 6 fields `fid attr x0 y0 x1 y1`, got 5",
        ":8: non-integer field",
    ):
        assert expected in message
    path.write_text("0 0 1 2 3 4\n0 1 5 5 9 9\n0 1 9 9 12 12\n")
    regions = read_regions(path, SYNTH_SPEC, num_images=2)
    assert regions.of(0, 1) == ((5, 5, 9, 9), (9, 9, 12, 12))
    assert regions.of(1, 0) == ()


def test_hard_difficulty_varies_the_aspect_ratio_and_easy_keeps_it_square() -> None:
    values = [0] * len(ATTRIBUTES)
    easy = {draw_garment(values, seed, 64).image.size for seed in range(8)}
    hard = {draw_garment(values, seed, 64, "hard").image.size for seed in range(8)}
    assert easy == {(64, 64)}
    assert len(hard) > 4
    with pytest.raises(ValueError, match="unknown difficulty"):
        draw_garment(values, 0, 64, "medium")


def test_the_placket_changes_only_the_button_region() -> None:
    values = {name: choices[0] for name, choices in ATTRIBUTE_VALUES.items()}
    values.update(button_count="2", body_pattern="dots")
    for seed in range(4):
        plain = draw_garment(values, seed, 160)
        placket = draw_garment(values, seed, 160, placket=True)
        a = np.asarray(plain.image, dtype=np.int32)
        diff = np.abs(a - np.asarray(placket.image, dtype=np.int32)).sum(axis=2)
        assert plain.regions == placket.regions
        assert diff.sum() > 0
        inside = region_mask(plain.regions["button_count"], diff.shape, margin=3)
        assert diff[inside].sum() / diff.sum() > 0.97
