"""Shared set-up of a training run: data set, attribute table, triplet loader, run log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch

from asen.checkpoint import AttributeSpec
from asen.data.dataset import FashionDataset, open_dataset
from asen.data.metadata import DatasetSpec
from asen.data.sampler import TripletSampler
from asen.training.distributed import DistContext
from asen.training.image_store import ImageStore
from asen.training.settings import TrainSettings
from asen.training.triplet_loader import TripletLoader

LOG_NAME = "asen.train"

# Settings that must be equal to continue a saved run (epoch counts may grow).
RESUME_KEYS = (
    "dataset",
    "triplets_per_epoch",
    "batch_size",
    "global_backbone",
    "local_backbone",
    "embed_size",
    "global_size",
    "local_size",
    "spatial_attention",
    "channel_attention",
    "threshold",
    "stage1_optim",
    "stage2_optim",
    "loss_weights",
    "seed",
)


def resume_record(settings: TrainSettings) -> dict:
    record = settings.to_record()
    return {key: record[key] for key in RESUME_KEYS}


def open_training_data(settings: TrainSettings) -> FashionDataset:
    """`--dataset auto` (None) reads the root's attributes.json; a name picks a built-in spec."""
    return open_dataset(Path(settings.data), settings.dataset)


def attribute_specs(spec: DatasetSpec) -> list[AttributeSpec]:
    names = spec.value_names or (None,) * spec.num_attributes
    return [
        AttributeSpec(name, count, list(values) if values else None)
        for name, count, values in zip(spec.attributes, spec.num_values, names, strict=True)
    ]


def triplet_loader(
    dataset: FashionDataset, settings: TrainSettings, context: DistContext, with_sources: bool
) -> TripletLoader:
    """This rank's share of the epoch's triplets, from its own seed."""
    sampler = TripletSampler(
        dataset.train_labels(),
        dataset.spec.num_values,
        context.share(settings.triplets_per_epoch),
        settings.batch_size,
        seed=context.rank_seed(settings.seed),
    )
    store = ImageStore(
        dataset.images("train"),
        settings.global_size,
        keep_sources=with_sources,
        cache_bytes=settings.cache_mb << 20,
    )
    return TripletLoader(sampler, store, settings.workers)


def run_logger(out: Path, context: DistContext) -> logging.Logger:
    """`RUNDIR/train.log` (rank 0, appended across resumes) plus stderr when there is no bar."""
    log = logging.getLogger(LOG_NAME)
    log.setLevel(logging.INFO)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    if context.is_main:
        Path(out).mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(Path(out) / "train.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
    else:
        log.addHandler(logging.NullHandler())
    return log


def echo_to_stderr(log: logging.Logger) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)


def seed_everything(seed: int) -> None:
    """Model initialisation is the only other randomness (no dropout, no augmentation)."""
    torch.manual_seed(seed)
