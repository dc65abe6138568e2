"""Shared set-up of a training run: data set, attribute table, triplet loader, run log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import torch

from asen.data.dataset import FashionDataset, open_dataset
from asen.data.sampler import TripletSampler
from asen.training.distributed import DistContext
from asen.training.image_store import ImageStore
from asen.training.settings import TrainSettings
from asen.training.triplet_loader import TripletLoader
from asen_contract.errors import ConfigError

LOG_NAME = "asen.train"

# Settings that must be equal to continue a saved run (epoch counts may grow).
RESUME_KEYS = (
    "dataset",
    "baseline",
    "model",
    "loss",
    "triplets_per_epoch",
    "batch_size",
    "scale_batch",
    "seed",
)
SCHEDULES = ("stage1", "stage2")


def resume_record(settings: TrainSettings) -> dict:
    record = settings.to_record()
    kept = {key: record[key] for key in RESUME_KEYS}
    for name in SCHEDULES:
        kept[name] = {key: value for key, value in record[name].items() if key != "epochs"}
    return kept


def rank_batch_size(settings: TrainSettings, context: DistContext) -> int:
    """Triplets per step on this process: the official batch is split over the processes
    unless scale_batch gives each process the whole batch."""
    if settings.scale_batch or not context.enabled:
        return settings.batch_size
    if settings.batch_size % context.world_size:
        raise ConfigError(
            f"batch_size {settings.batch_size} cannot be split evenly over "
            f"{context.world_size} processes: choose a multiple of {context.world_size}, or "
            "set scale_batch to give each process the whole batch"
        )
    return settings.batch_size // context.world_size


def open_training_data(settings: TrainSettings) -> FashionDataset:
    """`--dataset auto` (None) reads the root's attributes.json; a name picks a built-in spec."""
    return open_dataset(
        Path(settings.data), None if settings.dataset == "auto" else settings.dataset
    )


def triplet_loader(
    dataset: FashionDataset, settings: TrainSettings, context: DistContext, with_sources: bool
) -> TripletLoader:
    """This rank's share of the epoch's triplets, from its own seed."""
    sampler = TripletSampler(
        dataset.train_labels(),
        dataset.spec.num_values,
        context.share(settings.triplets_per_epoch),
        rank_batch_size(settings, context),
        seed=context.rank_seed(settings.seed),
    )
    store = ImageStore(
        dataset.images("train"),
        settings.model.global_size,
        keep_sources=with_sources,
        cache_bytes=settings.cache_mb << 20,
    )
    return TripletLoader(sampler, store, settings.workers)


def run_logger(out: Path, context: DistContext, echo: bool) -> logging.Logger:
    """`RUNDIR/train.log` (rank 0, appended across resumes); on stderr every message when
    `echo` (no progress bars), else warnings only."""
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
        terminal = logging.StreamHandler(sys.stderr)
        terminal.setFormatter(logging.Formatter("%(message)s"))
        terminal.setLevel(logging.INFO if echo else logging.WARNING)
        log.addHandler(terminal)
    else:
        log.addHandler(logging.NullHandler())
    return log


def seed_everything(seed: int) -> None:
    """Model initialisation is the only other randomness (no dropout, no augmentation)."""
    torch.manual_seed(seed)
