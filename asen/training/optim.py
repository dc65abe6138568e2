"""Optimisers and schedules of the two stages (official `modules/solver/build.py`, s1/s2.yaml).

Stage 1: Adam(all parameters, lr 1e-4), StepLR(step 3, gamma 0.9).
Stage 2: Adam with three groups, in the official order: local basenet (lr 1e-4), local attnnet
(lr 1e-4), the whole global branch including the shared attribute table (lr 1e-5);
StepLR(step 1, gamma 0.9). The local branch learns fast from scratch (or ImageNet) while the
stage-1 global branch is only fine-tuned.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from asen.model.network import ASEN


@dataclass(frozen=True)
class OptimSettings:
    lr: float
    slow_lr: float
    step_size: int
    gamma: float


STAGE1 = OptimSettings(lr=1e-4, slow_lr=1e-5, step_size=3, gamma=0.9)
STAGE2 = OptimSettings(lr=1e-4, slow_lr=1e-5, step_size=1, gamma=0.9)


def single_group_optimizer(model: nn.Module, settings: OptimSettings) -> torch.optim.Adam:
    """Stage 1 and the baseline: every trainable parameter at one learning rate."""
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.Adam(params, lr=settings.lr)


def stage2_optimizer(model: ASEN, settings: OptimSettings) -> torch.optim.Adam:
    local, glob = model.choices["local"], model.choices["global"]
    groups = [
        {"params": [p for p in local["basenet"].parameters() if p.requires_grad]},
        {"params": [p for p in local["attnnet"].parameters() if p.requires_grad]},
        {
            "params": [p for p in glob.parameters() if p.requires_grad],
            "lr": settings.slow_lr,
        },
    ]
    return torch.optim.Adam(groups, lr=settings.lr)


def step_scheduler(
    optimizer: torch.optim.Optimizer, settings: OptimSettings
) -> torch.optim.lr_scheduler.StepLR:
    """Stepped once per epoch, after that epoch's validation (as the official main loop)."""
    return torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=settings.step_size, gamma=settings.gamma
    )
