"""Shared builders of the small models and checkpoints the tests use.

One place decides what a "tiny" ASEN++ is (narrow backbones, small heads, small inputs), so a
change to the model's configuration or the checkpoint format is made here once, not in every
test that needs a model file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from asen.checkpoint import AttributeSpec, save_checkpoint
from asen.model.config import Architecture, ModelConfig
from asen.model.network import ASEN
from asen.training.settings import Schedule, Stage2Schedule, TrainSettings


def tiny_config(num_attributes: int = 3, *, local: bool = True, **changes: object) -> ModelConfig:
    """Tiny backbones on both branches (or the global one only), small heads, 64/32 px inputs."""
    values: dict[str, object] = dict(
        num_attributes=num_attributes,
        global_backbone="tiny",
        local_backbone="tiny" if local else None,
        attribute_embed_size=16,
        embed_size=32,
        global_common_size=16,
        local_common_size=8,
        global_size=64,
        local_size=32,
    )
    values.update(changes)
    return ModelConfig(**values)  # type: ignore[arg-type]


def tiny_model(
    config: ModelConfig | None = None, seed: int = 0, sharp_attention: bool = False
) -> ASEN:
    """A randomly initialised network in eval mode, the same for the same seed.

    sharp_attention scales the global spatial-attention weights up, so an untrained model's
    attention has clear peaks and RoI boxes differ from attribute to attribute."""
    torch.manual_seed(seed)
    model = ASEN(config or tiny_config()).eval()
    if sharp_attention:
        with torch.no_grad():
            head = model.choices["global"]["attnnet"]
            head.conv.weight.mul_(30)
            head.attr_transform1.weight.mul_(30)
    return model


def tiny_attributes(
    names: Sequence[str] | int, num_values: int = 3, value_names: bool = False
) -> list[AttributeSpec]:
    """Specs for the given names (or `attribute_0`, ... for a count), `num_values` each."""
    if isinstance(names, int):
        names = [f"attribute_{index}" for index in range(names)]
    values = [chr(ord("a") + index) for index in range(num_values)] if value_names else None
    return [AttributeSpec(name, num_values, values) for name in names]


def tiny_checkpoint(
    path: Path,
    config: ModelConfig | None = None,
    attributes: list[AttributeSpec] | None = None,
    seed: int = 0,
    sharp_attention: bool = False,
    dataset: str = "",
) -> Path:
    """Save `tiny_model(config, seed, sharp_attention)` with `attributes` (default: one spec of
    three named values per attribute) and return the path."""
    config = config or tiny_config()
    model = tiny_model(config, seed, sharp_attention)
    specs = attributes or tiny_attributes(config.num_attributes, value_names=True)
    save_checkpoint(Path(path), model, specs, dataset=dataset)
    return Path(path)


TINY_ARCHITECTURE = Architecture(
    global_backbone="tiny", local_backbone="tiny", embed_size=16, global_size=64, local_size=32
)
TINY_STAGE1 = Schedule(epochs=1, lr=1e-3, step_size=3, gamma=0.9)
TINY_STAGE2 = Stage2Schedule(epochs=1, lr=1e-3, step_size=1, gamma=0.9, global_lr=1e-4)


def tiny_settings(data: Path, out: Path, **changes) -> TrainSettings:
    """Narrow backbones, 64/32 px, 2 steps of 4 triplets per epoch: seconds per run."""
    values = dict(
        data=data,
        out=out,
        model=TINY_ARCHITECTURE,
        batch_size=4,
        triplets_per_epoch=8,
        stage1=TINY_STAGE1,
        stage2=TINY_STAGE2,
        eval_batch_size=32,
        crop_threads=0,
        progress=False,
    )
    values.update(changes)
    return TrainSettings(**values)
