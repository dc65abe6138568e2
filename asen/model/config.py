"""Architecture settings of one ASEN++ model, stored inside every checkpoint."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from asen_contract.errors import CheckpointError

BACKBONES = ("resnet50", "resnet34", "resnet18", "tiny")


@dataclass(frozen=True)
class ModelConfig:
    """Defaults are the paper's full-size ASEN++ (official `modules/config/defaults.py`)."""

    num_attributes: int
    global_backbone: str = "resnet50"
    local_backbone: str | None = "resnet34"  # None: a global-only (stage 1 / ASEN) model
    attribute_embed_size: int = 512
    embed_size: int = 1024
    global_common_size: int = 512
    local_common_size: int = 256
    reduction_rate: int = 2
    spatial_attention: bool = True
    channel_attention: bool = True
    global_size: int = 224
    local_size: int = 112
    threshold: float = 0.1  # RoI threshold of stage 2 and test time
    beta: float = 0.6  # weight of the global part in the fused similarity

    def __post_init__(self) -> None:
        if self.num_attributes < 1:
            raise CheckpointError("num_attributes must be at least 1")
        for name in (self.global_backbone, self.local_backbone):
            if name is not None and name not in BACKBONES:
                raise CheckpointError(f"unknown backbone {name!r}; choose from {BACKBONES}")
        if not 0.0 < self.beta < 1.0:
            raise CheckpointError(f"beta must be in (0, 1), got {self.beta}")
        if not 0.0 <= self.threshold < 1.0:
            raise CheckpointError(f"threshold must be in [0, 1), got {self.threshold}")

    @property
    def has_local(self) -> bool:
        return self.local_backbone is not None

    @property
    def fused_size(self) -> int:
        return 2 * self.embed_size if self.has_local else self.embed_size

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CheckpointError(f"unknown model config fields: {unknown}")
        return cls(**data)
