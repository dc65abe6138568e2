"""The baseline's training step: the ASEN triplet loss on attribute-blind embeddings.

The attribute of each triplet is ignored by the network: the baseline must place a garment close
to the positive and far from the negative with one embedding for every attribute at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn

from asen.baseline.model import TripletNet
from asen.training.losses import triplet_ranking_loss
from asen.training.steps import ROLES, StepOutput


class BaselineTriplets(nn.Module):
    def __init__(self, model: TripletNet) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        images: torch.Tensor,
        attributes: torch.Tensor,
        sources: Sequence[Sequence[Image.Image]] | None = None,
    ) -> StepOutput:
        anchor, positive, negative = (self.model(images[role]) for role in range(ROLES))
        loss = triplet_ranking_loss(anchor, positive, negative)
        return loss, {"global": loss.detach()}
