"""The ASEN++ network with the official module tree, so official state dicts load by name.

choices.global.{attrnet,basenet,attnnet} and choices.local.{attrnet,basenet,attnnet};
the attribute embedding table (attrnet) is one module shared by both branches.
"""

from __future__ import annotations

import torch
from torch import nn

from asen.model.attention import AttentionHead
from asen.model.config import ModelConfig
from asen.model.resnet import build_backbone


class AttributeEmbedding(nn.Module):
    def __init__(self, num_attributes: int, size: int) -> None:
        super().__init__()
        self.attr_embedding = nn.Embedding(num_attributes, size)

    def forward(self, attribute: torch.Tensor) -> torch.Tensor:
        return self.attr_embedding(attribute)


class ASEN(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        attrnet = AttributeEmbedding(config.num_attributes, config.attribute_embed_size)
        if not config.uses_attributes:
            # No attention reads the table (the attribute-blind triplet baseline): it stays in
            # the state dict, with the official names, but is never trained.
            attrnet.requires_grad_(False)
        self.choices = nn.ModuleDict(
            {level: self._branch(config, attrnet, level) for level in config.levels}
        )

    @staticmethod
    def _branch(config: ModelConfig, attrnet: nn.Module, level: str) -> nn.ModuleDict:
        branch = config.branch(level)
        backbone = build_backbone(branch.backbone)
        head = AttentionHead(
            config.attribute_embed_size,
            backbone.out_channels,
            branch.common_size,
            branch.reduction_rate,
            config.embed_size,
            branch.spatial_attention,
            branch.channel_attention,
        )
        return nn.ModuleDict({"attrnet": attrnet, "basenet": backbone, "attnnet": head})

    def backbone(self, images: torch.Tensor, level: str = "global") -> torch.Tensor:
        """The attribute-independent feature map: run once per image, whatever the attributes."""
        return self.choices[level]["basenet"](images)

    def head(
        self, features: torch.Tensor, attributes: torch.Tensor, level: str = "global"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        branch = self.choices[level]
        return branch["attnnet"](features, branch["attrnet"](attributes))

    def forward(
        self, images: torch.Tensor, attributes: torch.Tensor, level: str = "global"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """images [B,3,S,S], attributes [B] -> (embedding [B,E], attention [B,h,w])."""
        return self.head(self.backbone(images, level), attributes, level)
