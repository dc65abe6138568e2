"""The losses of the official ASEN++ trainer.

Triplet ranking: MarginRankingLoss(margin) on cos(anchor, positive) vs cos(anchor, negative).
Alignment (stage 2): for each of anchor, positive and negative, mean over the batch of
clamp(1 - cos(global, local), min=0), and the three means are SUMMED (official `local_loss`).
Losses are computed in float32 even under autocast: cosines of fp16 vectors lose the margin.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional

from asen.setting import check_settings, setting


@dataclass(frozen=True, kw_only=True)
class LossSettings:
    """The official SOLVER.MARGIN and stage-2 weights of s2.yaml (1.0 global, 0.1 local,
    0.1 alignment); stage 1 and the baseline use the global triplet loss alone."""

    margin: float = setting(0.2, "triplet ranking margin between cosine similarities", minimum=0.0)
    global_weight: float = setting(1.0, "stage 2: weight of the global triplet loss", minimum=0.0)
    local_weight: float = setting(0.1, "stage 2: weight of the local triplet loss", minimum=0.0)
    align_weight: float = setting(
        0.1, "stage 2: weight of the global/local alignment loss", minimum=0.0
    )

    def __post_init__(self) -> None:
        check_settings(self)


def triplet_ranking_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float
) -> torch.Tensor:
    """mean(max(0, margin - cos(a, p) + cos(a, n))): target 1 means "positive ranks first"."""
    anchor, positive, negative = anchor.float(), positive.float(), negative.float()
    close = functional.cosine_similarity(anchor, positive, dim=1)
    far = functional.cosine_similarity(anchor, negative, dim=1)
    return functional.margin_ranking_loss(close, far, torch.ones_like(close), margin=margin)


def alignment_loss(
    global_embeddings: tuple[torch.Tensor, ...], local_embeddings: tuple[torch.Tensor, ...]
) -> torch.Tensor:
    """Sum over the triplet roles of mean(clamp(1 - cos(f_global, f_local), min=0))."""
    total = global_embeddings[0].new_zeros((), dtype=torch.float32)
    for glob, loc in zip(global_embeddings, local_embeddings, strict=True):
        cosine = functional.cosine_similarity(glob.float(), loc.float(), dim=1)
        total = total + torch.clamp(1.0 - cosine, min=0).mean()
    return total
