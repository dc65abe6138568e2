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

from asen.checkpoint import AttributeSpec, LoadedCheckpoint
from asen.data.dataset import FashionDataset
from asen.evaluation import EmbedFn, EvaluationReport, evaluate_embeddings
from asen.inference import Embedder
from asen.model.network import ASEN


def asen_embed_fn(model: ASEN, attributes: list[AttributeSpec], device: torch.device) -> EmbedFn:
    """Fused embeddings of (image, attribute) pairs; leaves the model in eval mode."""
    checkpoint = LoadedCheckpoint(model, model.config, attributes, sha256="in-training")
    embedder = Embedder(checkpoint, str(device))

    def embed(images: Sequence[Image.Image], attribute_ids: list[int]) -> np.ndarray:
        return embedder.embed_pairs(list(images), attribute_ids).fused

    return embed


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
