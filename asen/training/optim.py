"""Optimisers and schedules of the two stages (official `modules/solver/build.py`, s1/s2.yaml).

Stage 1 (and the baseline): Adam over all trainable parameters at one learning rate.
Stage 2: Adam with three groups, in the official order: local basenet, local attnnet (both at
the stage's lr), and the whole global branch including the shared attribute table (global_lr).
The local branch learns fast from ImageNet while the stage-1 global branch is only fine-tuned.
Both: StepLR(step_size, gamma), stepped once per epoch after that epoch's validation.
"""

from __future__ import annotations

import torch
from torch import nn

from asen.model.network import ASEN
from asen.training.settings import Schedule, Stage2Schedule


def _trainable(module: nn.Module) -> list[nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def single_group_optimizer(model: nn.Module, schedule: Schedule) -> torch.optim.Adam:
    return torch.optim.Adam(_trainable(model), lr=schedule.lr)


def stage2_optimizer(model: ASEN, schedule: Stage2Schedule) -> torch.optim.Adam:
    local, glob = model.choices["local"], model.choices["global"]
    groups = [
        {"params": _trainable(local["basenet"])},
        {"params": _trainable(local["attnnet"])},
        {"params": _trainable(glob), "lr": schedule.global_lr},
    ]
    return torch.optim.Adam(groups, lr=schedule.lr)


def step_scheduler(
    optimizer: torch.optim.Optimizer, schedule: Schedule
) -> torch.optim.lr_scheduler.StepLR:
    return torch.optim.lr_scheduler.StepLR(
        optimizer, step_size=schedule.step_size, gamma=schedule.gamma
    )
