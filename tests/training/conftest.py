"""A tiny synthetic data set shared by the training tests; one thread per test."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asen.data.synth import SynthSettings, generate_synthetic_dataset

IMAGE_SIZE = 64


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny-synth") / "data"
    settings = SynthSettings(
        seed=3, train=24, valid=12, test=12, image_size=IMAGE_SIZE, difficulty="hard"
    )
    generate_synthetic_dataset(root, settings, progress=False)
    return root


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    torch.set_num_threads(1)
