"""The fused ASEN++ embedding: a dot product of two fused vectors is beta*cos_g + (1-beta)*cos_l."""

from __future__ import annotations

import math

import torch
from torch.nn import functional


def fuse(global_embedding: torch.Tensor, local_embedding: torch.Tensor | None, beta: float):
    """[sqrt(beta) * l2norm(g) ; sqrt(1 - beta) * l2norm(l)], or l2norm(g) for global-only."""
    normed_global = functional.normalize(global_embedding, p=2, dim=-1)
    if local_embedding is None:
        return normed_global
    normed_local = functional.normalize(local_embedding, p=2, dim=-1)
    return torch.cat((math.sqrt(beta) * normed_global, math.sqrt(1 - beta) * normed_local), dim=-1)
