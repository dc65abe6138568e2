"""The resumable training state, `stage{1,2}/last.pt`: everything needed to continue exactly.

Model, optimiser and scheduler state, completed epochs, best validation MAP so far, per-epoch
history, and the RNG states (Python, numpy, torch CPU and CUDA). Triplets themselves depend only
on (seed, epoch), so a resumed run samples the same triplets the uninterrupted run would have.
Written atomically (temporary file + rename): an interrupted save never corrupts the last state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from asen_contract.errors import CheckpointError

STATE_FORMAT = "asen-training-state"


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


def capture_rng() -> dict[str, Any]:
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    if "python" in state:
        random.setstate(state["python"])
    if "numpy" in state:
        np.random.set_state(state["numpy"])
    if "torch" in state:
        torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(path: Path, state: TrainingState) -> None:
    payload = {"format": STATE_FORMAT, **state.__dict__}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(payload, temporary)
    temporary.replace(path)


def load_training_state(path: Path) -> TrainingState:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no training state to resume at {path}")
    try:
        # Our own file: it holds Python/numpy RNG tuples, which the weights-only loader refuses.
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a bad file
        raise CheckpointError(f"cannot read training state {path}: {error}") from error
    if not isinstance(payload, dict) or payload.pop("format", None) != STATE_FORMAT:
        raise CheckpointError(f"{path} is not a training state file (stage{{1,2}}/last.pt)")
    return TrainingState(**payload)
