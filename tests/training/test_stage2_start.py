"""Stage 2 starts from stage 1's global branch (last epoch by default, or the best, or a given
checkpoint), nothing else, and records where it started from."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from asen.checkpoint import attribute_specs, load_checkpoint
from asen.data.dataset import open_dataset
from asen.training.distributed import DistContext
from asen.training.pipeline import train
from asen.training.plans import RunContext, _global_start
from asen.training.state import load_training_state
from asen_contract.errors import CheckpointError

from ..factories import tiny_checkpoint, tiny_settings


def _global(state: dict) -> dict:
    return {k: v for k, v in state.items() if k.startswith("choices.global.")}


def test_stage2_starts_from_the_last_stage1_epoch(tiny_data: Path, tmp_path: Path) -> None:
    train(tiny_settings(tiny_data, tmp_path, stage="1", max_steps=1))
    last = load_training_state(tmp_path / "stage1" / "last.pt")
    settings = tiny_settings(tiny_data, tmp_path, stage="2", max_steps=1)
    state, record = _global_start_of(settings, tiny_data)
    for key, value in _global(last.model).items():
        assert torch.equal(state[key], value), key
    assert "stage1/last.pt (epoch 1)" in record["from"]
    assert record["stage1_started_from"] == {"source": "scratch"}
    train(settings)
    final = load_checkpoint(tmp_path / "model.pt")
    assert final.extra["initialisation"]["global"]["from"] == record["from"]
    assert final.extra["initialisation"]["local"] == {"source": "scratch"}


def _global_start_of(settings, data):
    """Stage 2's starting global branch, as the plan builds it before training."""
    dataset = open_dataset(data)
    run = RunContext(settings, dataset, attribute_specs(dataset.spec), DistContext(), {})
    config = settings.architecture.for_attributes(dataset.spec.num_attributes)
    return _global_start(run, config)


@pytest.mark.parametrize("with_local", [False, True])
def test_a_given_checkpoint_starts_stage2(tiny_data: Path, tmp_path: Path, with_local) -> None:
    settings = tiny_settings(tiny_data, tmp_path, stage="2")
    config = settings.model.for_attributes(6, local=with_local)
    path = tiny_checkpoint(tmp_path / "s1.pt", config, seed=1)
    settings = tiny_settings(tiny_data, tmp_path, stage="2", stage1_checkpoint=path)
    state, record = _global_start_of(settings, tiny_data)
    source = load_checkpoint(path).model.state_dict()
    assert _global(state).keys() == _global(source).keys()
    assert record["sha256"] == load_checkpoint(path).sha256


def test_another_global_architecture_is_refused(tiny_data: Path, tmp_path: Path) -> None:
    other = tiny_settings(tiny_data, tmp_path).model
    path = tiny_checkpoint(tmp_path / "s1.pt", replace(other, embed_size=8).for_attributes(6))
    settings = tiny_settings(tiny_data, tmp_path, stage="2", stage1_checkpoint=path)
    with pytest.raises(CheckpointError, match="another global architecture"):
        _global_start_of(settings, tiny_data)
