"""Validation MAP of the model being trained, with the evaluation package's official protocol.

The network in training is wrapped as an in-memory checkpoint and embedded by the same
`Embedder` that `asen evaluate` and serving's reference path use, so the MAP that selects
`best.pt` is the MAP the saved checkpoint will get.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch.nn import functional

from asen.checkpoint import AttributeSpec, LoadedCheckpoint
from asen.data.dataset import FashionDataset
from asen.evaluation import EmbedFn, EvaluationReport, evaluate_embeddings
from asen.inference import Embedder, Embeddings
from asen.model.network import ASEN

PARTS = ("fused", "global", "local")


def asen_embed_fn(
    model: ASEN, attributes: list[AttributeSpec], device: torch.device, part: str = "fused"
) -> EmbedFn:
    """Embeddings of (image, attribute) pairs: the fused vector, or one branch l2-normalised
    (to see what each branch contributes)."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}")
    checkpoint = LoadedCheckpoint(model, model.config, attributes, sha256="in-training")
    embedder = Embedder(checkpoint, str(device))

    def embed(images: Sequence[Image.Image], attribute_ids: list[int]) -> np.ndarray:
        return _select(embedder.embed_pairs(list(images), attribute_ids), part)

    return embed


def _select(embeddings: Embeddings, part: str) -> np.ndarray:
    if part == "fused":
        return embeddings.fused
    chosen = embeddings.global_part if part == "global" else embeddings.local_part
    if chosen is None:
        raise ValueError("this model has no local branch")
    return functional.normalize(torch.from_numpy(chosen), dim=1).numpy()


def validate(
    embed_fn: EmbedFn,
    model: torch.nn.Module,
    dataset: FashionDataset,
    split: str = "valid",
    batch_size: int = 64,
    progress: bool = True,
) -> EvaluationReport:
    """Evaluate `embed_fn` on a split in eval mode, then put `model` back into train mode."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return evaluate_embeddings(embed_fn, dataset, split, batch_size, progress)
    finally:
        model.train(was_training)
