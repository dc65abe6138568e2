"""Both stages' step modules learn: the loss falls on one fixed batch (overfit check)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from asen.model.network import ASEN
from asen.training.local_crops import LocalCropper
from asen.training.losses import LossSettings
from asen.training.optim import single_group_optimizer, stage2_optimizer
from asen.training.settings import Stage2Schedule
from asen.training.steps import GlobalLocalTriplets, GlobalTriplets

from ..factories import tiny_config

FAST = Stage2Schedule(epochs=1, lr=1e-3, global_lr=1e-3, step_size=1, gamma=1.0)


def _batch(size: int = 4):
    rng = np.random.default_rng(0)
    sources = [
        [Image.fromarray(rng.integers(0, 256, (80, 72, 3), dtype=np.uint8)) for _ in range(size)]
        for _ in range(3)
    ]
    images = torch.randn(3, size, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    attributes = torch.tensor([0, 1, 2, 0][:size])
    return images, attributes, sources


def _losses(step_module, optimizer, steps: int = 15) -> list[float]:
    images, attributes, sources = _batch()
    losses = []
    for _ in range(steps):
        loss, _ = step_module(images, attributes, sources)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def _config(local: str | None):
    return tiny_config(3, local=local is not None, embed_size=16)


def test_stage1_loss_decreases_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = ASEN(_config(None))
    losses = _losses(GlobalTriplets(model, LossSettings()), single_group_optimizer(model, FAST))
    assert losses[0] > 0.05
    assert min(losses[-3:]) < 0.5 * losses[0]


def test_stage2_loss_decreases_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    model = ASEN(_config("tiny"))
    step = GlobalLocalTriplets(model, LocalCropper(64, 32, 0.1), LossSettings())
    losses = _losses(step, stage2_optimizer(model, FAST))
    assert min(losses[-3:]) < 0.7 * losses[0]
