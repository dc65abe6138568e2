"""Stage-2 optimiser: local branch fast, global branch (with the shared attribute table) slow."""

from __future__ import annotations

import torch

from asen.model.network import ASEN
from asen.training.optim import (
    single_group_optimizer,
    stage2_optimizer,
    step_scheduler,
)
from asen.training.settings import STAGE1, STAGE2

from ..factories import tiny_config


def _ids(parameters) -> set[int]:
    return {id(p) for p in parameters}


def test_stage2_groups_and_learning_rates() -> None:
    model = ASEN(tiny_config(3))
    optimizer = stage2_optimizer(model, STAGE2)
    local_base, local_attn, global_group = optimizer.param_groups
    assert local_base["lr"] == local_attn["lr"] == 1e-4
    assert global_group["lr"] == 1e-5
    assert _ids(local_base["params"]) == _ids(model.choices["local"]["basenet"].parameters())
    assert _ids(local_attn["params"]) == _ids(model.choices["local"]["attnnet"].parameters())
    assert _ids(global_group["params"]) == _ids(model.choices["global"].parameters())
    table = model.choices["global"]["attrnet"].attr_embedding.weight
    assert id(table) in _ids(global_group["params"])
    grouped = [id(p) for group in optimizer.param_groups for p in group["params"]]
    assert sorted(grouped) == sorted(_ids(model.parameters()))  # each parameter exactly once


def test_schedules_follow_the_official_steps() -> None:
    model = ASEN(tiny_config(2, local=False))
    optimizer = single_group_optimizer(model, STAGE1)
    scheduler = step_scheduler(optimizer, STAGE1)
    rates = []
    for _ in range(7):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [1e-4] * 3 + [9e-5] * 3 + [8.1e-5]
    assert torch.allclose(torch.tensor(rates), torch.tensor(expected))
