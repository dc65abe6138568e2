"""The baseline's own small checkpoint file (it is not an ASEN model, so not the ASEN format)."""

from __future__ import annotations

from pathlib import Path

from asen.baseline.model import BaselineConfig, TripletNet
from asen.checkpoint import load_strict, read_torch_file, save_torch_file

FORMAT = "asen-triplet-baseline"
VERSION = 1


def save_baseline(path: Path, model: TripletNet, extra: dict | None = None) -> str:
    payload = {
        "config": model.config.to_dict(),
        "extra": extra or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    return save_torch_file(path, FORMAT, VERSION, payload)


def load_baseline(path: Path) -> TripletNet:
    stored = read_torch_file(path, FORMAT, {VERSION}, "triplet-baseline checkpoint", unversioned=1)
    model = TripletNet(BaselineConfig(**stored.payload["config"]))
    load_strict(model, stored.payload["state_dict"], str(path))
    return model.eval()
