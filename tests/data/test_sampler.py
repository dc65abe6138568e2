from __future__ import annotations

import numpy as np
import pytest

from asen.data import DatasetSpec, TrainLabels, TripletSampler
from asen_contract.errors import DataFormatError

SPEC = DatasetSpec("s", ("a", "b", "c"), (3, 5, 2))


def labels_from_table(table: np.ndarray, spec: DatasetSpec = SPEC) -> TrainLabels:
    """TrainLabels for a DARN-style table: table[image, attribute] = value."""
    image_ids = tuple(
        tuple(np.flatnonzero(table[:, attribute] == value) for value in range(count))
        for attribute, count in enumerate(spec.num_values)
    )
    return TrainLabels(spec=spec, num_images=len(table), image_ids=image_ids)


@pytest.fixture(scope="module")
def table() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.stack([rng.permutation(np.arange(60) % k) for k in SPEC.num_values], axis=1)


def test_triplets_follow_the_official_semantics(table: np.ndarray) -> None:
    sampler = TripletSampler(labels_from_table(table), SPEC.num_values, 30000, 64, seed=1)
    batches = list(sampler)
    anchors, positives, negatives, attributes = (
        np.concatenate(column) for column in zip(*batches, strict=True)
    )
    assert len(anchors) == 30000
    vp = table[anchors, attributes]
    assert np.all(anchors != positives)
    assert np.all(table[positives, attributes] == vp)
    assert np.all(table[negatives, attributes] != vp)
    # Attribute uniform over attributes; vp uniform over the attribute's values.
    assert np.allclose(np.bincount(attributes, minlength=3) / 30000, 1 / 3, atol=0.02)
    b = attributes == 1
    assert np.allclose(np.bincount(vp[b], minlength=5) / b.sum(), 1 / 5, atol=0.03)
    vn = table[negatives[b], 1]
    assert np.allclose(np.bincount(vn, minlength=5) / b.sum(), 1 / 5, atol=0.03)


def test_batches_and_length(table: np.ndarray) -> None:
    sampler = TripletSampler(labels_from_table(table), SPEC.num_values, 100, 16, seed=0)
    assert len(sampler) == 7
    sizes = [len(batch.anchors) for batch in sampler]
    assert sizes == [16] * 6 + [4]
    batch = next(iter(sampler))
    assert all(column.dtype == np.int64 for column in batch)


def test_deterministic_per_seed_and_epoch(table: np.ndarray) -> None:
    labels = labels_from_table(table)

    def first_epoch(seed: int) -> list[np.ndarray]:
        return [np.stack(batch) for batch in TripletSampler(labels, SPEC.num_values, 50, 8, seed)]

    assert all(np.array_equal(x, y) for x, y in zip(first_epoch(5), first_epoch(5), strict=True))
    assert not all(
        np.array_equal(x, y) for x, y in zip(first_epoch(5), first_epoch(6), strict=True)
    )
    sampler = TripletSampler(labels, SPEC.num_values, 50, 8, seed=5)
    epoch0 = [np.stack(batch) for batch in sampler]
    epoch1 = [np.stack(batch) for batch in sampler]
    assert not all(np.array_equal(x, y) for x, y in zip(epoch0, epoch1, strict=True))
    replay = [np.stack(batch) for batch in sampler.batches(1)]
    assert all(np.array_equal(x, y) for x, y in zip(epoch1, replay, strict=True))


def test_values_with_fewer_than_two_images_are_rejected_up_front(table: np.ndarray) -> None:
    spec = DatasetSpec(
        "s", ("a", "b", "c"), (3, 5, 2), (("x", "y", "z"), tuple("pqrst"), ("u", "v"))
    )
    broken = table.copy()
    broken[:, 1] = np.where(broken[:, 1] == 4, 0, broken[:, 1])  # value 4 of b: no image
    broken[7, 1] = 4  # ... then exactly one
    with pytest.raises(DataFormatError, match=r"b \(id 1\) value t \(id 4\): 1 image"):
        TripletSampler(labels_from_table(broken, spec), spec.num_values, 10, 2)


def test_num_values_must_match_the_labels(table: np.ndarray) -> None:
    with pytest.raises(DataFormatError, match="do not match"):
        TripletSampler(labels_from_table(table), (3, 5, 3), 10, 2)
