"""In-process ASEN++ embedding: the reference that evaluation, `asen embed` and the Triton
path are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from asen.checkpoint import LoadedCheckpoint
from asen.model.fusion import fuse
from asen_contract.preprocess import global_input
from asen_contract.roi import SquareBox, attention_boxes, box_in_source, local_input


@dataclass
class Embeddings:
    """Row i belongs to the i-th (image, attribute) pair asked for."""

    fused: np.ndarray  # [N, D]
    global_part: np.ndarray  # [N, E] raw global embedding
    local_part: np.ndarray | None  # [N, E] raw local embedding (None: global-only model)
    roi: np.ndarray  # [N, 4] x0, y0, x1, y1 in original-image pixels
    attention: np.ndarray  # [N, h, w]


class Embedder:
    def __init__(self, checkpoint: LoadedCheckpoint, device: str = "cpu") -> None:
        self.checkpoint = checkpoint
        self.config = checkpoint.config
        self.device = torch.device(device)
        self.model = checkpoint.model.to(self.device).eval()

    @torch.no_grad()
    def embed_pairs(self, images: list[Image.Image], attributes: list[int]) -> Embeddings:
        """One attribute per image (evaluation, ranking)."""
        size = self.config.global_size
        batch = torch.stack([torch.from_numpy(global_input(img, size)) for img in images])
        features = self.model.backbone(batch.to(self.device), "global")
        return self._finish(images, features, attributes)

    @torch.no_grad()
    def embed_image(self, image: Image.Image, attributes: list[int]) -> Embeddings:
        """Several attributes of one image: the global backbone runs once."""
        batch = torch.from_numpy(global_input(image, self.config.global_size))[None].to(self.device)
        features = self.model.backbone(batch, "global")
        features = features.expand(len(attributes), -1, -1, -1)
        return self._finish([image] * len(attributes), features, attributes)

    def _finish(
        self, images: list[Image.Image], features: torch.Tensor, attributes: list[int]
    ) -> Embeddings:
        config = self.config
        attribute_ids = torch.as_tensor(attributes, dtype=torch.long, device=self.device)
        global_embedding, attention = self.model.head(features, attribute_ids, "global")
        boxes = attention_boxes(attention, config.global_size, config.threshold).cpu().tolist()
        rois = [
            box_in_source(SquareBox(*box), image.size, config.global_size)
            for box, image in zip(boxes, images, strict=True)
        ]
        local_embedding = None
        if config.has_local:
            pairs = zip(images, rois, strict=True)
            crops = np.stack([local_input(img, roi, config.local_size) for img, roi in pairs])
            crops = torch.from_numpy(crops).to(self.device)
            local_embedding, _ = self.model(crops, attribute_ids, "local")
        fused = fuse(global_embedding, local_embedding, config.beta)
        return Embeddings(
            fused=fused.cpu().numpy(),
            global_part=global_embedding.cpu().numpy(),
            local_part=None if local_embedding is None else local_embedding.cpu().numpy(),
            roi=np.asarray(rois, dtype=np.float32).reshape(-1, 4),
            attention=attention.cpu().numpy(),
        )
