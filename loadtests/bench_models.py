"""What the benchmarks and GPU scripts use when none is given: a random checkpoint (speed does
not depend on the weights, but RoI boxes do, so the global attention is sharpened: random weights
give flat attention maps whose box is the whole frame, which would hide any effect on the box)
and a small synthetic data set (calibration and check images)."""

from __future__ import annotations

from pathlib import Path

import torch

from asen.checkpoint import AttributeSpec, save_checkpoint
from asen.data.synth import generate_synthetic_dataset
from asen.data.synth.settings import MIN_IMAGES, SynthSettings
from asen.model.config import ModelConfig
from asen.model.network import ASEN

ATTRIBUTES = 8  # FashionAI's attribute count

SMALL = dict(
    global_backbone="tiny",
    local_backbone="tiny",
    embed_size=32,
    attribute_embed_size=16,
    global_common_size=16,
    local_common_size=8,
    global_size=96,
    local_size=48,
    threshold=0.5,
)


def random_checkpoint(
    path: Path, small: bool = False, attributes: int = ATTRIBUTES, seed: int = 0
) -> Path:
    """A seeded random-init ASEN++: full size (ResNet-50 224 / ResNet-34 112) or tiny."""
    torch.manual_seed(seed)
    config = ModelConfig(num_attributes=attributes, **(SMALL if small else {}))
    model = ASEN(config).eval()
    with torch.no_grad():
        head = model.choices["global"]["attnnet"]
        head.conv.weight.mul_(30)
        head.attr_transform1.weight.mul_(30)
    specs = [AttributeSpec(f"attribute_{i}", 5) for i in range(attributes)]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model, specs)
    return path


def synthetic_set(root: Path, train: int = MIN_IMAGES, test: int = MIN_IMAGES) -> Path:
    """A small synthetic garment set at `root` (the other split the smallest allowed)."""
    counts = {"train": max(train, MIN_IMAGES), "valid": MIN_IMAGES, "test": max(test, MIN_IMAGES)}
    generate_synthetic_dataset(root, SynthSettings(**counts), progress=False)
    return root
