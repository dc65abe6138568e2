"""A tiny synthetic data set and tiny training settings shared by the training tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asen.data.synth import generate_synthetic_dataset
from asen.training.optim import OptimSettings
from asen.training.settings import TrainSettings

IMAGE_SIZE = 64


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-synth") / "data"
    generate_synthetic_dataset(
        root, seed=3, train=24, valid=12, test=12, image_size=IMAGE_SIZE, progress=False
    )
    return root


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    torch.set_num_threads(1)


def tiny_settings(data: Path, out: Path, **changes) -> TrainSettings:
    """Narrow backbones, 64/32 px, 2 steps of 4 triplets per epoch: seconds per run."""
    values = dict(
        data=data,
        out=out,
        global_backbone="tiny",
        local_backbone="tiny",
        embed_size=16,
        global_size=64,
        local_size=32,
        batch_size=4,
        triplets_per_epoch=8,
        epochs_stage1=1,
        epochs_stage2=1,
        stage1_optim=OptimSettings(1e-3, 1e-4, 3, 0.9),
        stage2_optim=OptimSettings(1e-3, 1e-4, 1, 0.9),
        eval_batch_size=32,
        crop_threads=0,
        progress=False,
    )
    values.update(changes)
    return TrainSettings(**values)
