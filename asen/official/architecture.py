"""Infer an official ASEN++ model's architecture from its state dict alone.

Official checkpoints carry no config, so everything is read from parameter names and shapes:
global-only vs global+local (`choices.local.*`), each backbone (block type, blocks per layer,
stem width), attribute table size, attention sizes, spatial/channel attention on or off.
Input sizes, the RoI threshold and beta are not in the weights; they default to the paper's.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import torch

from asen.model.config import BACKBONES, Architecture, ModelConfig
from asen.model.resnet import build_backbone
from asen_contract.errors import CheckpointError

BRANCHES = ("global", "local")
_BLOCK_KEY = re.compile(r"^layer(\d+)\.(\d+)\.")

Signature = tuple[str, tuple[int, ...], int]  # block type, blocks per layer, stem width


def branch_state(state: dict[str, torch.Tensor], branch: str, part: str) -> dict[str, torch.Tensor]:
    """Entries under choices.<branch>.<part>., with that prefix removed."""
    prefix = f"choices.{branch}.{part}."
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def backbone_signature(backbone_state: dict[str, Any]) -> Signature:
    """(block type, blocks per layer, stem width) of a torchvision-layout truncated ResNet."""
    blocks: dict[int, int] = {}
    for key in backbone_state:
        match = _BLOCK_KEY.match(key)
        if match:
            layer, index = int(match.group(1)), int(match.group(2))
            blocks[layer] = max(blocks.get(layer, 0), index + 1)
    kind = "bottleneck" if "layer1.0.conv3.weight" in backbone_state else "basic"
    stem = backbone_state.get("conv1.weight")
    width = int(stem.shape[0]) if stem is not None else 0
    return kind, tuple(blocks[layer] for layer in sorted(blocks)), width


@cache
def _known_signatures() -> dict[Signature, str]:
    return {backbone_signature(build_backbone(name).state_dict()): name for name in BACKBONES}


def infer_backbone(state: dict[str, torch.Tensor], branch: str) -> str:
    backbone = branch_state(state, branch, "basenet")
    if not backbone:
        raise CheckpointError(f"no choices.{branch}.basenet.* parameters in the checkpoint")
    signature = backbone_signature(backbone)
    name = _known_signatures().get(signature)
    if name is None:
        kind, layers, width = signature
        raise CheckpointError(
            f"the {branch} backbone ({kind} blocks, {list(layers)} blocks per layer, stem width "
            f"{width}) is none of the supported ones: resnet50 (bottleneck 3/4/6), "
            "resnet34 (basic 3/4/6), resnet18 (basic 2/2/2)"
        )
    return name


def _head_sizes(state: dict[str, torch.Tensor], branch: str) -> dict[str, Any]:
    head = branch_state(state, branch, "attnnet")
    if "feature_fc.weight" not in head:
        raise CheckpointError(f"choices.{branch}.attnnet.feature_fc.weight is missing")
    embed_size, channels = (int(n) for n in head["feature_fc.weight"].shape)
    sizes: dict[str, Any] = {
        "embed_size": embed_size,
        "spatial": "conv.weight" in head,
        "channel": "fc1.weight" in head,
        "common": int(head["conv.weight"].shape[0]) if "conv.weight" in head else None,
        "reduction": None,
    }
    if sizes["channel"]:
        hidden = int(head["fc1.weight"].shape[0])
        if hidden == 0 or channels % hidden:
            raise CheckpointError(
                f"choices.{branch}.attnnet.fc1 has {hidden} outputs for {channels} channels: "
                "not an integer reduction rate"
            )
        sizes["reduction"] = channels // hidden
    return sizes


def infer_config(state: dict[str, torch.Tensor], **settings: Any) -> ModelConfig:
    """ModelConfig of an official state dict; `settings` sets the non-weight fields
    (global_size, local_size, threshold, beta). Each branch's attention is read separately
    (the official config switches ASA/ACA per branch for its ablations)."""
    table = state.get("choices.global.attrnet.attr_embedding.weight")
    if table is None or table.dim() != 2:
        raise CheckpointError("choices.global.attrnet.attr_embedding.weight is missing")
    has_local = any(key.startswith("choices.local.") for key in state)
    branches = BRANCHES if has_local else BRANCHES[:1]
    heads = {branch: _head_sizes(state, branch) for branch in branches}
    sizes = {heads[branch]["embed_size"] for branch in branches}
    if len(sizes) > 1:
        raise CheckpointError(
            f"global and local embeddings differ in size ({sorted(sizes)}); the fused "
            "ASEN++ embedding needs one size"
        )
    defaults = Architecture()
    values: dict[str, Any] = {}
    for branch in branches:
        head = heads[branch]
        values[f"{branch}_spatial_attention"] = head["spatial"]
        values[f"{branch}_channel_attention"] = head["channel"]
        values[f"{branch}_common_size"] = head["common"] or getattr(
            defaults, f"{branch}_common_size"
        )
        values[f"{branch}_reduction_rate"] = head["reduction"] or getattr(
            defaults, f"{branch}_reduction_rate"
        )
    return ModelConfig(
        num_attributes=int(table.shape[0]),
        global_backbone=infer_backbone(state, "global"),
        local_backbone=infer_backbone(state, "local") if has_local else None,
        attribute_embed_size=int(table.shape[1]),
        embed_size=heads["global"]["embed_size"],
        **values,
        **settings,
    )
