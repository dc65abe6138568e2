"""Architecture settings of one ASEN++ model, stored inside every checkpoint.

`Architecture` is everything that shapes the network except the data set's number of
attributes; training settings hold one, and `for_attributes` turns it into the `ModelConfig` of
a concrete model. Defaults are the paper's full-size ASEN++ (official
`modules/config/defaults.py` and `s2.yaml`); each attention module can be switched off per
branch, as the official config allows, for the paper's ablations.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any

from asen.setting import check_settings, setting
from asen_contract.errors import ConfigError

BACKBONES = ("resnet50", "resnet34", "resnet18", "tiny")
LEVELS = ("global", "local")


@dataclass(frozen=True)
class Branch:
    """One branch's part of the architecture."""

    backbone: str
    common_size: int
    reduction_rate: int
    spatial_attention: bool
    channel_attention: bool


@dataclass(frozen=True, kw_only=True)
class Architecture:
    global_backbone: str = setting(
        "resnet50", "global branch: ResNet truncated after layer3", choices=BACKBONES
    )
    local_backbone: str | None = setting(
        "resnet34", "local branch (on the attention-guided crop)", choices=BACKBONES
    )
    attribute_embed_size: int = setting(512, "size of the attribute embedding", minimum=1)
    embed_size: int = setting(1024, "size of each branch's embedding", minimum=1)
    global_common_size: int = setting(
        512, "global spatial attention: size of the space where image and attribute meet",
        minimum=1,
    )  # fmt: skip
    local_common_size: int = setting(256, "local spatial attention: the same", minimum=1)
    global_reduction_rate: int = setting(
        2, "global channel attention: channels per hidden unit", minimum=1
    )
    local_reduction_rate: int = setting(2, "local channel attention: the same", minimum=1)
    global_spatial_attention: bool = setting(
        True, "global attribute-aware spatial attention (ASA); off: average pooling"
    )
    global_channel_attention: bool = setting(True, "global attribute-aware channel attention (ACA)")
    local_spatial_attention: bool = setting(True, "local ASA")
    local_channel_attention: bool = setting(True, "local ACA")
    global_size: int = setting(
        224, "global input size in pixels (resize + centre crop)", minimum=16
    )
    local_size: int = setting(112, "local input size in pixels (the RoI crop)", minimum=16)
    threshold: float = setting(
        0.1, "RoI threshold on the normalised attention (stage 2 and test time)", minimum=0.0
    )
    beta: float = setting(0.6, "weight of the global part in the fused similarity")

    def __post_init__(self) -> None:
        check_settings(self)
        if not self.threshold < 1.0:
            raise ConfigError(f"threshold must be below 1, got {self.threshold}")
        if not 0.0 < self.beta < 1.0:
            raise ConfigError(f"beta must be between 0 and 1 (exclusive), got {self.beta}")

    def for_attributes(self, num_attributes: int, local: bool = True) -> ModelConfig:
        """The configuration of a model for `num_attributes` attributes (local=False: global
        branch only)."""
        values = {f.name: getattr(self, f.name) for f in fields(Architecture)}
        if not local:
            values["local_backbone"] = None
        return ModelConfig(num_attributes=num_attributes, **values)


@dataclass(frozen=True, kw_only=True)
class ModelConfig(Architecture):
    num_attributes: int = setting(help="rows of the attribute table", minimum=1, cli=False)

    @property
    def has_local(self) -> bool:
        return self.local_backbone is not None

    @property
    def levels(self) -> tuple[str, ...]:
        return LEVELS if self.has_local else LEVELS[:1]

    @property
    def fused_size(self) -> int:
        return 2 * self.embed_size if self.has_local else self.embed_size

    def branch(self, level: str) -> Branch:
        backbone = self.global_backbone if level == "global" else self.local_backbone
        if level not in LEVELS or backbone is None:
            raise ValueError(f"this model has no {level} branch")
        return Branch(
            backbone=backbone,
            common_size=getattr(self, f"{level}_common_size"),
            reduction_rate=getattr(self, f"{level}_reduction_rate"),
            spatial_attention=getattr(self, f"{level}_spatial_attention"),
            channel_attention=getattr(self, f"{level}_channel_attention"),
        )

    @property
    def uses_attributes(self) -> bool:
        """False for an attribute-blind network (no attention anywhere): the triplet baseline."""
        return any(
            self.branch(level).spatial_attention or self.branch(level).channel_attention
            for level in self.levels
        )

    @property
    def architecture(self) -> Architecture:
        values = {f.name: getattr(self, f.name) for f in fields(Architecture)}
        return Architecture(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model config fields: {unknown}")
        return cls(**data)
