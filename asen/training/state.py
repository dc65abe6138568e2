"""The resumable training state, `stage{1,2}/last.pt`: everything needed to continue exactly.

Model, optimiser and scheduler state, completed epochs, best validation MAP so far, per-epoch
history, and the RNG states (Python, numpy, torch CPU and CUDA). Triplets themselves depend only
on (seed, epoch), so a resumed run samples the same triplets the uninterrupted run would have.
Written by the project's one atomic writer and read back weights-only: the RNG states are kept
as tensors, numbers and lists, so no pickled objects are needed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from asen.checkpoint import read_torch_file, save_torch_file

STATE_FORMAT = "asen-training-state"
STATE_VERSION = 2


@dataclass
class TrainingState:
    stage: str
    epoch: int  # epochs completed
    best_map: float
    best_epoch: int
    history: list[dict[str, Any]]
    settings: dict[str, Any]
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    scaler: dict[str, Any] = field(default_factory=dict)
    rng: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)  # what the stage's checkpoints record


def capture_rng() -> dict[str, Any]:
    version, mt_state, gauss = random.getstate()
    name, keys, position, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(mt_state), gauss],
        "numpy": [name, torch.from_numpy(np.asarray(keys)), position, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    if "python" in state:
        version, mt_state, gauss = state["python"]
        random.setstate((version, tuple(mt_state), gauss))
    if "numpy" in state:
        name, keys, position, has_gauss, cached = state["numpy"]
        np.random.set_state((name, keys.numpy(), position, has_gauss, cached))
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(path: Path, state: TrainingState) -> str:
    return save_torch_file(path, STATE_FORMAT, STATE_VERSION, dict(vars(state)))


def load_training_state(path: Path) -> TrainingState:
    stored = read_torch_file(
        path,
        STATE_FORMAT,
        {STATE_VERSION},
        "training state",
        "a resumed stage continues from RUNDIR/<stage>/last.pt",
    )
    return TrainingState(**stored.payload)
