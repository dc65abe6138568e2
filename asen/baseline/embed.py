"""The baseline as an evaluation embedding function: the same vector whatever the attribute."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image
from torch.nn import functional

from asen.baseline.model import TripletNet
from asen.evaluation import EmbedFn
from asen_contract.preprocess import global_input


def baseline_embed_fn(model: TripletNet, device: torch.device) -> EmbedFn:
    """l2-normalised embeddings (MAP ranks by dot product, like the official evaluation)."""

    @torch.no_grad()
    def embed(images: Sequence[Image.Image], attribute_ids: list[int]) -> np.ndarray:
        size = model.config.image_size
        batch = torch.from_numpy(np.stack([global_input(image, size) for image in images]))
        batch = batch.to(device)
        return functional.normalize(model(batch), dim=1).cpu().numpy()

    return embed
