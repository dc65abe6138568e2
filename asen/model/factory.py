"""Build an ASEN++ network, optionally with ImageNet-initialised backbones."""

from __future__ import annotations

from pathlib import Path

from asen.model.config import ModelConfig
from asen.model.network import ASEN
from asen.model.resnet import load_imagenet_weights


def build_model(
    config: ModelConfig,
    global_backbone_weights: Path | None = None,
    local_backbone_weights: Path | None = None,
) -> ASEN:
    """Weights are local torchvision `.pth` files; nothing is ever downloaded."""
    model = ASEN(config)
    if global_backbone_weights is not None:
        load_imagenet_weights(model.choices["global"]["basenet"], global_backbone_weights)
    if local_backbone_weights is not None and config.has_local:
        load_imagenet_weights(model.choices["local"]["basenet"], local_backbone_weights)
    return model
