"""One training step's forward and loss, as a module so DistributedDataParallel can wrap it.

The official trainer runs anchor, positive and negative through the network as three separate
forwards (BatchNorm sees batches of B, not 3B); so do these. Stage 2 crops the local inputs from
the three global attention maps (detached: no gradient flows through the crop), in one batched
call, and adds the local triplet loss and the global/local alignment loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn

from asen.model.network import ASEN
from asen.training.local_crops import LocalCropper
from asen.training.losses import LossWeights, alignment_loss, triplet_ranking_loss

StepOutput = tuple[torch.Tensor, dict[str, torch.Tensor]]
"""(total loss, named loss parts, detached)."""

ROLES = 3  # anchor, positive, negative


class GlobalTriplets(nn.Module):
    """Stage 1: triplet ranking loss on the global embeddings."""

    def __init__(self, model: ASEN) -> None:
        super().__init__()
        self.model = model

    def forward(
        self,
        images: torch.Tensor,
        attributes: torch.Tensor,
        sources: Sequence[Sequence[Image.Image]] | None = None,
    ) -> StepOutput:
        anchor, positive, negative = (
            self.model(images[role], attributes, "global")[0] for role in range(ROLES)
        )
        loss = triplet_ranking_loss(anchor, positive, negative)
        return loss, {"global": loss.detach()}


class GlobalLocalTriplets(nn.Module):
    """Stage 2: w_g * L_global + w_l * L_local + w_a * L_align."""

    def __init__(self, model: ASEN, cropper: LocalCropper, weights: LossWeights) -> None:
        super().__init__()
        self.model = model
        self.cropper = cropper
        self.weights = weights

    def forward(
        self,
        images: torch.Tensor,
        attributes: torch.Tensor,
        sources: Sequence[Sequence[Image.Image]] | None = None,
    ) -> StepOutput:
        if sources is None:
            raise ValueError("stage 2 needs the source images for the RoI crop")
        outputs = [self.model(images[role], attributes, "global") for role in range(ROLES)]
        globals_ = tuple(embedding for embedding, _ in outputs)
        attention = torch.cat([attention for _, attention in outputs])
        flat_sources = [image for role in sources for image in role]
        crops = self.cropper(attention, flat_sources).to(images.device, non_blocking=True)
        crops = crops.view(ROLES, -1, *crops.shape[1:])
        locals_ = tuple(self.model(crops[role], attributes, "local")[0] for role in range(ROLES))
        global_loss = triplet_ranking_loss(*globals_)
        local_loss = triplet_ranking_loss(*locals_)
        align_loss = alignment_loss(globals_, locals_)
        weights = self.weights
        total = (
            weights.global_weight * global_loss
            + weights.local_weight * local_loss
            + weights.align_weight * align_loss
        )
        parts = {
            "global": global_loss.detach(),
            "local": local_loss.detach(),
            "align": align_loss.detach(),
        }
        return total, parts
