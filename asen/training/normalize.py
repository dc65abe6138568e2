"""Batched ImageNet normalisation of uint8 pixels, bit-identical to `asen_contract.preprocess`.

The cache keeps the global input as uint8 (4x smaller than float32); the float tensor is made
per batch, on the training device, with the same float32 operations in the same order as
`normalized_array`, so training sees exactly the tensors evaluation and serving see.
"""

from __future__ import annotations

import torch

from asen_contract.preprocess import IMAGENET_MEAN, IMAGENET_STD


def normalize_pixels(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> float32 [..., 3, H, W] with ImageNet mean/std."""
    mean = torch.as_tensor(IMAGENET_MEAN, device=pixels.device)
    std = torch.as_tensor(IMAGENET_STD, device=pixels.device)
    scaled = pixels.float() / 255.0
    return ((scaled - mean) / std).movedim(-1, -3).contiguous()
