"""One training epoch: load, forward, loss, step; with running losses and timing.

Timing separates waiting for data, the RoI crop (inside the stage-2 forward, measured by the
cropper) and the rest, so throughput (triplets/s) and the crop's share of the epoch are reported
from the same clock.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm import tqdm

from asen.training.local_crops import LocalCropper
from asen.training.normalize import normalize_pixels
from asen.training.precision import Precision
from asen.training.triplet_loader import TripletImages


@dataclass
class EpochStats:
    losses: dict[str, float] = field(default_factory=dict)  # means over the epoch's triplets
    triplets: int = 0
    seconds: float = 0.0
    data_seconds: float = 0.0
    roi_seconds: float = 0.0
    steps: int = 0

    @property
    def triplets_per_second(self) -> float:
        return self.triplets / self.seconds if self.seconds > 0 else 0.0

    @property
    def roi_share(self) -> float:
        return self.roi_seconds / self.seconds if self.seconds > 0 else 0.0


def train_epoch(
    step_module: nn.Module,
    batches: Iterable[TripletImages],
    num_batches: int,
    optimizer: torch.optim.Optimizer,
    precision: Precision,
    device: torch.device,
    cropper: LocalCropper | None = None,
    description: str = "train",
    progress: bool = True,
    max_steps: int | None = None,
) -> EpochStats:
    """Train over `batches`; `max_steps` stops early (tests, smoke runs)."""
    step_module.train()
    stats = EpochStats()
    sums: dict[str, float] = {}
    roi_before = cropper.seconds if cropper is not None else 0.0
    total = num_batches if max_steps is None else min(num_batches, max_steps)
    bar = tqdm(total=total, desc=description, unit="batch", file=sys.stderr, disable=not progress)
    started = time.perf_counter()
    waited_since = started
    with bar:
        for batch in batches:
            stats.data_seconds += time.perf_counter() - waited_since
            images = normalize_pixels(batch.pixels.to(device, non_blocking=True))
            attributes = batch.attributes.to(device, non_blocking=True)
            with precision.autocast():
                loss, parts = step_module(images, attributes, batch.sources)
            precision.step(loss, optimizer)
            size = batch.size
            stats.triplets += size
            stats.steps += 1
            for name, value in {"loss": loss.detach(), **parts}.items():
                sums[name] = sums.get(name, 0.0) + float(value) * size
            bar.set_postfix({k: f"{v / stats.triplets:.4f}" for k, v in sums.items()})
            bar.update(1)
            waited_since = time.perf_counter()
            if stats.steps >= total:
                break
    stats.seconds = time.perf_counter() - started
    if cropper is not None:
        stats.roi_seconds = cropper.seconds - roi_before
    stats.losses = {k: v / max(stats.triplets, 1) for k, v in sums.items()}
    return stats
