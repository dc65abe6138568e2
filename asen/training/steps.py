"""One training step's forward and loss, as a module so DistributedDataParallel can wrap it.

The official trainer runs anchor, positive and negative through the network as three separate
forwards (BatchNorm sees batches of B, not 3B); so do these. Stage 1 and the triplet baseline
(an ASEN network with no attention) are the same step on the global branch. Stage 2 crops the
local inputs from the three global attention maps (detached: no gradient flows through the
crop), in one batched call, and adds the local triplet loss and the global/local alignment loss.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from PIL import Image
from torch import nn

from asen.model.network import ASEN
from asen.training.local_crops import LocalCropper
from asen.training.losses import LossSettings, alignment_loss, triplet_ranking_loss

StepOutput = tuple[torch.Tensor, dict[str, torch.Tensor]]
"""(total loss, named loss parts, detached)."""

ROLES = 3  # anchor, positive, negative
Sources = Sequence[Sequence[Image.Image]]


class GlobalTriplets(nn.Module):
    """Stage 1 and the baseline: triplet ranking loss on the global embeddings."""

    def __init__(self, model: ASEN, loss: LossSettings) -> None:
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(
        self, images: torch.Tensor, attributes: torch.Tensor, sources: Sources | None = None
    ) -> StepOutput:
        outputs = [self.model(images[role], attributes, "global") for role in range(ROLES)]
        loss = triplet_ranking_loss(*(embedding for embedding, _ in outputs), self.loss.margin)
        return loss, {"global": loss.detach()}


class GlobalLocalTriplets(nn.Module):
    """Stage 2: w_g * L_global + w_l * L_local + w_a * L_align."""

    def __init__(self, model: ASEN, cropper: LocalCropper, loss: LossSettings) -> None:
        super().__init__()
        self.model = model
        self.cropper = cropper
        self.loss = loss

    def forward(
        self, images: torch.Tensor, attributes: torch.Tensor, sources: Sources | None = None
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
        settings = self.loss
        global_loss = triplet_ranking_loss(*globals_, settings.margin)
        local_loss = triplet_ranking_loss(*locals_, settings.margin)
        align_loss = alignment_loss(globals_, locals_)
        total = (
            settings.global_weight * global_loss
            + settings.local_weight * local_loss
            + settings.align_weight * align_loss
        )
        parts = {
            "global": global_loss.detach(),
            "local": local_loss.detach(),
            "align": align_loss.detach(),
        }
        return total, parts
