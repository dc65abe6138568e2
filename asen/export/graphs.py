"""The exported branch graphs: thin wrappers around the ASEN++ modules with Triton's tensor layout.

Each wrapper is one Triton model. Every tensor has a leading batch axis (one row per image) and
the attribute-dependent ones a second axis K (attribute ids asked for that image), so the global
backbone runs once per image however many attributes are asked for.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional

from asen.model.network import ASEN


class GlobalBackbone(nn.Module):
    """GLOBAL_IMAGE [B,3,S,S] -> FEATURES [B,C,h,w]: attribute-independent, once per image."""

    def __init__(self, model: ASEN) -> None:
        super().__init__()
        self.basenet = model.choices["global"]["basenet"]

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.basenet(image)


class GlobalHead(nn.Module):
    """FEATURES [B,C,h,w] + ATTRIBUTE [B,K] -> GLOBAL_EMBEDDING [B,K,E], ATTENTION [B,K,h,w].

    The feature map is broadcast over K inside the graph. A global-only model's head also ends
    the pipeline, so it returns l2norm(global) as its embedding (what the ensemble serves).
    """

    def __init__(self, model: ASEN, normalize: bool) -> None:
        super().__init__()
        self.attrnet = model.choices["global"]["attrnet"]
        self.attnnet = model.choices["global"]["attnnet"]
        self.normalize = normalize

    def forward(
        self, features: torch.Tensor, attribute: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        batch, channels, height, width = features.shape
        count = attribute.shape[1]
        tiled = features.unsqueeze(1).expand(batch, count, channels, height, width)
        tiled = tiled.reshape(batch * count, channels, height, width)
        ids = attribute.reshape(batch * count).long()
        embedding, alpha = self.attnnet(tiled, self.attrnet(ids))
        if self.normalize:
            embedding = functional.normalize(embedding, p=2, dim=-1)
        return (
            embedding.reshape(batch, count, embedding.shape[-1]),
            alpha.reshape(batch, count, height, width),
        )


class LocalBranch(nn.Module):
    """LOCAL_IMAGE [B,K,3,L,L] + ATTRIBUTE [B,K] + GLOBAL_EMBEDDING [B,K,E] -> EMBEDDING [B,K,2E].

    The fusion [sqrt(beta) l2norm(g) ; sqrt(1-beta) l2norm(l)] is part of the graph.
    """

    def __init__(self, model: ASEN, beta: float) -> None:
        super().__init__()
        self.attrnet = model.choices["local"]["attrnet"]
        self.basenet = model.choices["local"]["basenet"]
        self.attnnet = model.choices["local"]["attnnet"]
        self.global_weight = math.sqrt(beta)
        self.local_weight = math.sqrt(1.0 - beta)

    def forward(
        self, local_image: torch.Tensor, attribute: torch.Tensor, global_embedding: torch.Tensor
    ) -> torch.Tensor:
        batch, count = attribute.shape
        images = local_image.reshape(batch * count, *local_image.shape[2:])
        ids = attribute.reshape(batch * count).long()
        local, _ = self.attnnet(self.basenet(images), self.attrnet(ids))
        local = functional.normalize(local, p=2, dim=-1).reshape(batch, count, -1)
        normed_global = functional.normalize(global_embedding, p=2, dim=-1)
        return torch.cat((self.global_weight * normed_global, self.local_weight * local), dim=-1)
