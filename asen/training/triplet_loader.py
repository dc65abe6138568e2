"""Batches of triplet images for one epoch, loaded in-process or in DataLoader workers.

Each epoch's triplets depend only on (sampler seed, epoch) (`TripletSampler.batches`), so a worker
can recompute its batch from the (epoch, batch index) it is handed: workers stay persistent across
epochs and keep their own image caches. With workers=0 everything runs in the training process
and its one cache serves every epoch (the fastest choice on small data sets).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from asen.data.sampler import TripletBatch, TripletSampler
from asen.training.image_store import ImageStore


@dataclass
class TripletImages:
    """pixels uint8 [3, B, G, G, 3] (anchor, positive, negative); sources[role][i] for stage 2."""

    pixels: torch.Tensor
    attributes: torch.Tensor
    sources: list[list[Image.Image]] | None

    @property
    def size(self) -> int:
        return int(self.attributes.shape[0])


class EpochBatches(Dataset):
    """Item (epoch, index) = the images of batch `index` of epoch `epoch`."""

    def __init__(self, sampler: TripletSampler, store: ImageStore) -> None:
        self.sampler = sampler
        self.store = store
        self._epoch: int | None = None
        self._triplets: TripletBatch | None = None

    def __len__(self) -> int:
        return len(self.sampler)

    def __getitem__(self, key: tuple[int, int]) -> TripletImages:
        epoch, index = key
        triplets = self._epoch_triplets(epoch)
        size = self.sampler.batch_size
        rows = slice(index * size, (index + 1) * size)
        roles = (triplets.anchors[rows], triplets.positives[rows], triplets.negatives[rows])
        pixels = np.stack([np.stack([self.store.pixels(int(i)) for i in ids]) for ids in roles])
        sources = None
        if self.store.keep_sources:
            sources = [[self.store.source(int(i)) for i in ids] for ids in roles]
        return TripletImages(
            pixels=torch.from_numpy(pixels),
            attributes=torch.from_numpy(triplets.attributes[rows].copy()),
            sources=sources,
        )

    def _epoch_triplets(self, epoch: int) -> TripletBatch:
        if self._epoch != epoch or self._triplets is None:
            rng = np.random.default_rng([self.sampler.seed, epoch])
            self._triplets = self.sampler.sample(rng, self.sampler.num_triplets)
            self._epoch = epoch
        return self._triplets


class EpochIndices(Sampler):
    """Yields (epoch, 0), (epoch, 1), ...; `epoch` is set before each pass."""

    def __init__(self, num_batches: int) -> None:
        self.num_batches = num_batches
        self.epoch = 0

    def __len__(self) -> int:
        return self.num_batches

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter([(self.epoch, index) for index in range(self.num_batches)])


def _as_is(item: TripletImages) -> TripletImages:
    return item


class TripletLoader:
    """`epoch(n)` iterates the batches of epoch n."""

    def __init__(self, sampler: TripletSampler, store: ImageStore, workers: int = 0) -> None:
        self.dataset = EpochBatches(sampler, store)
        self.indices = EpochIndices(len(self.dataset))
        self.workers = workers
        self._loader: DataLoader | None = None
        if workers > 0:
            self._loader = DataLoader(
                self.dataset,
                batch_size=None,
                sampler=self.indices,
                num_workers=workers,
                collate_fn=_as_is,
                persistent_workers=True,
                prefetch_factor=4,
            )

    def __len__(self) -> int:
        return len(self.dataset)

    def epoch(self, epoch: int) -> Iterator[TripletImages]:
        self.indices.epoch = epoch
        if self._loader is not None:
            return iter(self._loader)
        return (self.dataset[key] for key in self.indices)
