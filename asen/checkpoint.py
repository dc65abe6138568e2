"""The project's checkpoint format: weights plus everything needed to use them.

A checkpoint records the architecture (ModelConfig), the attribute names and value counts,
and the state dict, so `asen embed`, `asen evaluate` and `asen export` need nothing else.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from asen.model.config import ModelConfig
from asen.model.network import ASEN
from asen_contract.errors import CheckpointError

FORMAT = "asen-serving-checkpoint"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    num_values: int
    value_names: list[str] | None = None


@dataclass
class LoadedCheckpoint:
    model: ASEN
    config: ModelConfig
    attributes: list[AttributeSpec]
    sha256: str
    dataset: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def model_version(self) -> str:
        """Short, stable identity of the weights: part of every embedding's provenance."""
        return f"ckpt-{self.sha256[:12]}"

    def attribute_index(self, name: str) -> int:
        for index, spec in enumerate(self.attributes):
            if spec.name == name:
                return index
        known = ", ".join(spec.name for spec in self.attributes)
        raise CheckpointError(f"unknown attribute {name!r}; this model knows: {known}")


def save_checkpoint(
    path: Path,
    model: ASEN,
    attributes: list[AttributeSpec],
    dataset: str = "",
    extra: dict[str, Any] | None = None,
) -> str:
    """Write atomically (temp file + rename) and return the file's SHA-256."""
    if len(attributes) != model.config.num_attributes:
        raise CheckpointError(
            f"{len(attributes)} attribute specs for a model of {model.config.num_attributes}"
        )
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "attributes": [asdict(spec) for spec in attributes],
        "dataset": dataset,
        "extra": extra or {},
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    data = buffer.getvalue()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    temporary.replace(path)
    return hashlib.sha256(data).hexdigest()


def load_checkpoint(path: Path, device: str = "cpu") -> LoadedCheckpoint:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    data = path.read_bytes()
    try:
        payload = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad file
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from error
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not an asen-serving checkpoint (an official ASEN++ checkpoint must be "
            "converted first: asen import-official CHECKPOINT --dataset ... --out MODEL)"
        )
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: unsupported format version {payload.get('format_version')}")
    config = ModelConfig.from_dict(payload["config"])
    model = ASEN(config)
    load_state_strict(model, payload["state_dict"], str(path))
    model.to(device).eval()
    attributes = [AttributeSpec(**spec) for spec in payload["attributes"]]
    return LoadedCheckpoint(
        model=model,
        config=config,
        attributes=attributes,
        sha256=hashlib.sha256(data).hexdigest(),
        dataset=payload.get("dataset", ""),
        extra=payload.get("extra", {}),
    )


def load_state_strict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """All parameters present with the right shapes, nothing unknown: never a partial load."""
    wanted = model.state_dict()
    missing = sorted(set(wanted) - set(state))
    unexpected = sorted(set(state) - set(wanted))
    wrong = sorted(
        f"{k} {tuple(state[k].shape)} != {tuple(wanted[k].shape)}"
        for k in set(state) & set(wanted)
        if state[k].shape != wanted[k].shape
    )
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (e.g. {', '.join(missing[:4])})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:4])})")
    if wrong:
        problems.append(f"{len(wrong)} with the wrong shape (e.g. {'; '.join(wrong[:4])})")
    if problems:
        raise CheckpointError(
            f"{source}: parameters do not match the model: " + "; ".join(problems)
        )
    model.load_state_dict(state)
