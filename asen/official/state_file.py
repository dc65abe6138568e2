"""Read an official ASEN++ checkpoint (`checkpoint.pth.tar` / `model_best.pth.tar`) safely.

The official trainer writes torch.save({'model': state_dict, 'epoch': int, 'mAP': float}).
Only tensors, numbers and strings are expected, so the file is unpickled with
`weights_only=True`: a file that needs anything else (arbitrary classes, code) is refused instead
of executed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from asen_contract.errors import CheckpointError

# Some trainers store numpy scalars (e.g. a numpy float mAP); these rebuild plain numbers only.
_NUMPY_SCALAR_GLOBALS = [
    np.core.multiarray.scalar,
    np.dtype,
    np.dtypes.Float64DType,
    np.dtypes.Float32DType,
    np.dtypes.Int64DType,
    np.dtypes.Int32DType,
]


@dataclass
class OfficialCheckpoint:
    """The state dict (with any DataParallel `module.` prefix removed) and the file's metadata."""

    state: dict[str, torch.Tensor]
    metadata: dict[str, Any]


def read_official_checkpoint(path: Path) -> OfficialCheckpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"official checkpoint {path} does not exist")
    payload = _safe_load(path)
    if isinstance(payload, dict) and "model" in payload:
        state, metadata = payload["model"], {k: v for k, v in payload.items() if k != "model"}
    else:
        state, metadata = payload, {}
    if not isinstance(state, dict) or not state:
        raise CheckpointError(
            f"{path}: expected a state dict or {{'model': state_dict, ...}}, "
            f"found {type(state).__name__}"
        )
    not_tensors = sorted(str(k) for k, v in state.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise CheckpointError(f"{path}: state dict entries that are not tensors: {not_tensors[:5]}")
    return OfficialCheckpoint(strip_data_parallel_prefix(state), _plain_metadata(metadata))


def strip_data_parallel_prefix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """nn.DataParallel saves every name as `module.<name>`; remove it when all names carry it."""
    if all(key.startswith("module.") for key in state):
        return {key[len("module.") :]: value for key, value in state.items()}
    return dict(state)


def _safe_load(path: Path) -> Any:
    try:
        with torch.serialization.safe_globals(_NUMPY_SCALAR_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad or unsafe file
        raise CheckpointError(
            f"cannot read official checkpoint {path}: {error}\n"
            "Only files holding tensors and plain numbers are accepted (loaded with "
            "weights_only=True, so no code in the file runs). A checkpoint that stores other "
            "objects must be re-saved as torch.save({'model': model.state_dict()}) first."
        ) from error


def _plain_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Keep JSON-friendly metadata (epoch, mAP) for the imported checkpoint's record."""
    plain: dict[str, Any] = {}
    for key, value in metadata.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool | int | float | str):
            plain[str(key)] = value
    return plain
