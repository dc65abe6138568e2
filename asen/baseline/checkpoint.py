"""The baseline's own small checkpoint file (it is not an ASEN model, so not the ASEN format)."""

from __future__ import annotations

from pathlib import Path

import torch

from asen.baseline.model import BaselineConfig, TripletNet
from asen.checkpoint import load_state_strict
from asen_contract.errors import CheckpointError

FORMAT = "asen-triplet-baseline"


def save_baseline(path: Path, model: TripletNet, extra: dict | None = None) -> None:
    payload = {
        "format": FORMAT,
        "config": model.config.to_dict(),
        "extra": extra or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    torch.save(payload, temporary)
    temporary.replace(path)


def load_baseline(path: Path) -> TripletNet:
    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad file
        raise CheckpointError(f"cannot read baseline checkpoint {path}: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a triplet-baseline checkpoint")
    model = TripletNet(BaselineConfig(**payload["config"]))
    load_state_strict(model, payload["state_dict"], str(path))
    return model.eval()
