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

from asen.checkpoint import read_torch_bytes
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
_DATA_PARALLEL = "module."


@dataclass
class OfficialCheckpoint:
    """The state dict (names as the official trainer saved them) and the file's metadata."""

    state: dict[str, torch.Tensor]
    metadata: dict[str, Any]
    sha256: str = ""


def read_official_checkpoint(path: Path) -> OfficialCheckpoint:
    path = Path(path)
    payload, sha256 = _safe_load(path)
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
    return OfficialCheckpoint(dict(state), _plain_metadata(metadata), sha256)


def official_key(key: str) -> str:
    """Key map for the strict loader: nn.DataParallel saved every name as `module.<name>`."""
    return key[len(_DATA_PARALLEL) :] if key.startswith(_DATA_PARALLEL) else key


def _safe_load(path: Path) -> tuple[Any, str]:
    try:
        return read_torch_bytes(path, "official checkpoint", _NUMPY_SCALAR_GLOBALS)
    except CheckpointError as error:
        if not path.is_file():
            raise
        raise CheckpointError(
            f"{error}\nOnly files holding tensors and plain numbers are accepted (loaded with "
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
