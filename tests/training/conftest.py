"""A tiny synthetic data set and tiny training settings shared by the training tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from asen.data.synth import generate_synthetic_dataset
from asen.training.optim import OptimSettings
from asen.training.settings import TrainSettings

IMAGE_SIZE = 64


def _hide_tests_triton_folder() -> None:
    """tests/triton has no __init__.py, so with tests/ on sys.path it imports as a namespace
    package named `triton`; torch then believes the Triton compiler is installed and the first
    optimiser step fails (`module 'triton' has no attribute 'language'`). No real `triton` is
    installed with the CPU torch, so mark the name as absent for this session."""
    spec = importlib.util.find_spec("triton") if "triton" not in sys.modules else None
    if spec is not None and spec.origin is None:  # a namespace package: a bare folder
        sys.modules["triton"] = None  # type: ignore[assignment]


_hide_tests_triton_folder()


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
