"""Backbone + global average pooling + linear embedding; no attribute input."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from asen.model.resnet import build_backbone


@dataclass(frozen=True)
class BaselineConfig:
    backbone: str = "resnet50"
    embed_size: int = 1024
    image_size: int = 224

    def to_dict(self) -> dict:
        return asdict(self)


class TripletNet(nn.Module):
    def __init__(self, config: BaselineConfig) -> None:
        super().__init__()
        self.config = config
        self.basenet = build_backbone(config.backbone)
        self.embedding = nn.Linear(self.basenet.out_channels, config.embed_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images [B, 3, S, S] -> embeddings [B, E] (not normalised; cosines compare them)."""
        return self.embedding(self.basenet(images).mean(dim=(2, 3)))
