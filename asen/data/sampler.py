"""Random triplets for the triplet ranking loss, with the official ASEN/ASEN++ semantics.

Per triplet: attribute uniform over the attributes; two distinct values vp != vn uniform over ALL
values of that attribute; anchor and positive two distinct images with value vp; negative a random
image with value vn. Sampling is vectorised over a flat table of image ids so 100,000 triplets per
epoch cost milliseconds, and each epoch's triplets depend only on (seed, epoch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

from asen.data.train_labels import TrainLabels
from asen_contract.errors import DataFormatError


class TripletBatch(NamedTuple):
    """Train-split image ids and the attribute id of each triplet (int64 arrays, equal length)."""

    anchors: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray
    attributes: np.ndarray


class TripletSampler:
    """Batches of random triplets; `len()` = ceil(num_triplets / batch_size).

    Iterating twice gives two different epochs (0, 1, ...); `batches(epoch)` replays any epoch.
    """

    def __init__(
        self,
        labels: TrainLabels,
        num_values: Sequence[int],
        num_triplets: int,
        batch_size: int,
        seed: int = 0,
    ) -> None:
        if num_triplets < 1 or batch_size < 1:
            raise ValueError("num_triplets and batch_size must be positive")
        self.num_values = np.asarray(num_values, dtype=np.int64)
        if tuple(self.num_values) != tuple(labels.num_values):
            raise DataFormatError(
                f"num_values {tuple(self.num_values)} do not match the labels' spec "
                f"{tuple(labels.num_values)}"
            )
        self.num_triplets = num_triplets
        self.batch_size = batch_size
        self.seed = seed
        self._epoch = 0
        _require_two_images_per_value(labels)
        self._counts, self._offsets, self._flat_ids = _flatten(labels)

    def __len__(self) -> int:
        return math.ceil(self.num_triplets / self.batch_size)

    def __iter__(self) -> Iterator[TripletBatch]:
        epoch = self._epoch
        self._epoch += 1
        return self.batches(epoch)

    def batches(self, epoch: int) -> Iterator[TripletBatch]:
        """The batches of one epoch; the same (seed, epoch) always gives the same triplets."""
        rng = np.random.default_rng([self.seed, epoch])
        triplets = self.sample(rng, self.num_triplets)
        for start in range(0, self.num_triplets, self.batch_size):
            yield TripletBatch(*(column[start : start + self.batch_size] for column in triplets))

    def sample(self, rng: np.random.Generator, count: int) -> TripletBatch:
        """`count` independent triplets drawn with `rng`.

        `batches(epoch)` is `sample(np.random.default_rng([seed, epoch]), num_triplets)` cut
        into batches, so a loader may draw an epoch itself and slice it as it likes.
        """
        attributes = rng.integers(len(self.num_values), size=count)
        values_per_attribute = self.num_values[attributes]
        positive_values = rng.integers(values_per_attribute)
        # A uniform value different from vp: shift by 1..n-1 modulo n.
        negative_values = (
            positive_values + 1 + rng.integers(values_per_attribute - 1)
        ) % values_per_attribute
        positive_counts = self._counts[attributes, positive_values]
        first = rng.integers(positive_counts)
        second = (first + 1 + rng.integers(positive_counts - 1)) % positive_counts
        negative = rng.integers(self._counts[attributes, negative_values])
        positive_offsets = self._offsets[attributes, positive_values]
        negative_offsets = self._offsets[attributes, negative_values]
        return TripletBatch(
            anchors=self._flat_ids[positive_offsets + first],
            positives=self._flat_ids[positive_offsets + second],
            negatives=self._flat_ids[negative_offsets + negative],
            attributes=attributes.astype(np.int64),
        )


def _require_two_images_per_value(labels: TrainLabels) -> None:
    """Any value may be drawn as vp, which needs two distinct images: fail now, not mid-epoch."""
    short = [
        f"{labels.spec.attributes[attribute]} (id {attribute}) value "
        f"{labels.spec.value_name(attribute, value)} (id {value}): {count} image(s)"
        for attribute, per_value in enumerate(labels.counts())
        for value, count in enumerate(per_value)
        if count < 2
    ]
    if short:
        shown = "\n  ".join(short[:20])
        more = f"\n  ... and {len(short) - 20} more" if len(short) > 20 else ""
        raise DataFormatError(
            f"triplet sampling needs at least two training images for every value of every "
            f"attribute; {len(short)} value(s) have fewer:\n  {shown}{more}"
        )


def _flatten(labels: TrainLabels) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(counts, offsets) as zero-padded [attribute, value] tables, plus all ids in one array."""
    num_attributes = len(labels.num_values)
    width = max(labels.num_values)
    counts = np.zeros((num_attributes, width), dtype=np.int64)
    offsets = np.zeros((num_attributes, width), dtype=np.int64)
    chunks: list[np.ndarray] = []
    position = 0
    for attribute, per_value in enumerate(labels.image_ids):
        for value, ids in enumerate(per_value):
            counts[attribute, value] = len(ids)
            offsets[attribute, value] = position
            chunks.append(ids)
            position += len(ids)
    return counts, offsets, np.concatenate(chunks).astype(np.int64)
