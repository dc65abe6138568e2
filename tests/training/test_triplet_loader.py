"""The loader delivers the sampler's triplets, the same in-process and from DataLoader workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from asen.data.dataset import open_dataset
from asen.data.sampler import TripletSampler
from asen.training.image_store import ImageStore
from asen.training.normalize import normalize_pixels
from asen.training.triplet_loader import TripletLoader
from asen_contract.preprocess import global_input


def _loader(root: Path, workers: int, cache_bytes: int = 1 << 30) -> TripletLoader:
    dataset = open_dataset(root)
    sampler = TripletSampler(dataset.train_labels(), dataset.spec.num_values, 10, 4, seed=5)
    store = ImageStore(dataset.images("train"), 64, keep_sources=True, cache_bytes=cache_bytes)
    return TripletLoader(sampler, store, workers)


def test_batches_follow_the_sampler_and_preprocessing(tiny_data: Path) -> None:
    loader = _loader(tiny_data, workers=0)
    expected = list(loader.dataset.sampler.batches(1))
    batches = list(loader.epoch(1))
    assert [b.size for b in batches] == [4, 4, 2]
    for batch, triplets in zip(batches, expected, strict=True):
        assert batch.attributes.tolist() == triplets.attributes.tolist()
        image_id = int(triplets.negatives[0])
        source = batch.sources[2][0]
        assert source.size == loader.dataset.store.source(image_id).size
        reference = torch.from_numpy(global_input(source, 64))
        assert torch.equal(normalize_pixels(batch.pixels[2, 0]), reference)


def test_workers_give_the_same_batches_and_a_tiny_cache_still_works(tiny_data: Path) -> None:
    in_process = [b.pixels for b in _loader(tiny_data, workers=0).epoch(0)]
    with_workers = [b.pixels for b in _loader(tiny_data, workers=2).epoch(0)]
    uncached = [b.pixels for b in _loader(tiny_data, 0, cache_bytes=0).epoch(0)]
    for a, b, c in zip(in_process, with_workers, uncached, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
    assert not np.array_equal(in_process[0].numpy(), in_process[1].numpy())
