"""The attribute-aware attention head of one ASEN++ branch (the official `AttnEmbedding`).

Parameter names (conv, attr_transform1, attr_transform2, fc1, fc2, feature_fc) follow the
official code so its checkpoints load as they are.
"""

from __future__ import annotations

import torch
from torch import nn


class AttentionHead(nn.Module):
    """Spatial attention (ASA) then channel attention (ACA) then a linear embedding."""

    def __init__(
        self,
        attribute_embed_size: int,
        feature_channels: int,
        common_size: int,
        reduction_rate: int,
        embed_size: int,
        spatial: bool = True,
        channel: bool = True,
    ) -> None:
        super().__init__()
        self.spatial = spatial
        self.channel = channel
        if spatial:
            self.attr_transform1 = nn.Linear(attribute_embed_size, common_size)
            self.conv = nn.Conv2d(feature_channels, common_size, kernel_size=1)
        if channel:
            self.attr_transform2 = nn.Linear(attribute_embed_size, attribute_embed_size)
            hidden = feature_channels // reduction_rate
            self.fc1 = nn.Linear(feature_channels + attribute_embed_size, hidden)
            self.fc2 = nn.Linear(hidden, feature_channels)
        self.feature_fc = nn.Linear(feature_channels, embed_size)

    def forward(
        self, features: torch.Tensor, attribute: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """features [B, C, H, W], attribute embedding [B, A] -> (embedding [B, E], alpha [B, H, W]).

        Without spatial attention the map is uniform (plain average pooling), so callers
        always get a map of the right shape.
        """
        batch, channels, height, width = features.shape
        if self.spatial:
            alpha = self.spatial_attention(features, attribute)
        else:
            alpha = features.new_full((batch, height * width), 1.0 / (height * width))
        pooled = torch.bmm(features.flatten(2), alpha.unsqueeze(2)).squeeze(2)
        if self.channel:
            pooled = pooled * self.channel_attention(pooled, attribute)
        return self.feature_fc(pooled), alpha.view(batch, height, width)

    def spatial_attention(self, features: torch.Tensor, attribute: torch.Tensor) -> torch.Tensor:
        """softmax over positions of <tanh(conv(V)), tanh(W a)> / sqrt(d): alpha [B, H*W]."""
        projected = torch.tanh(self.conv(features)).flatten(2)  # [B, d, HW]
        query = torch.tanh(self.attr_transform1(attribute))  # [B, d]
        scores = torch.bmm(query.unsqueeze(1), projected).squeeze(1)
        scores = scores / projected.shape[1] ** 0.5
        return torch.softmax(scores, dim=1)

    def channel_attention(self, pooled: torch.Tensor, attribute: torch.Tensor) -> torch.Tensor:
        """sigmoid(fc2(relu(fc1([pooled ; relu(W a)])))): per-channel weights [B, C]."""
        context = torch.relu(self.attr_transform2(attribute))
        hidden = torch.relu(self.fc1(torch.cat((pooled, context), dim=1)))
        return torch.sigmoid(self.fc2(hidden))
