"""The ASEN++ network: official shapes and parameter names, attention semantics, fusion."""

from __future__ import annotations

import math

import pytest
import torch
from torch.nn import functional

from asen.model.config import ModelConfig
from asen.model.fusion import fuse
from asen.model.network import ASEN

from ..factories import tiny_config

OFFICIAL_KEYS = [
    "choices.global.attrnet.attr_embedding.weight",
    "choices.global.basenet.layer3.5.bn3.running_var",
    "choices.global.attnnet.conv.weight",
    "choices.global.attnnet.attr_transform1.weight",
    "choices.global.attnnet.attr_transform2.weight",
    "choices.global.attnnet.fc1.weight",
    "choices.global.attnnet.fc2.weight",
    "choices.global.attnnet.feature_fc.weight",
    "choices.local.attrnet.attr_embedding.weight",
    "choices.local.basenet.layer3.5.conv2.weight",
    "choices.local.attnnet.conv.weight",
]


@pytest.fixture(scope="module")
def full_model():
    torch.manual_seed(0)
    return ASEN(ModelConfig(num_attributes=8)).eval()


def test_full_size_shapes_and_official_names(full_model) -> None:
    state = full_model.state_dict()
    for key in OFFICIAL_KEYS:
        assert key in state, key
    assert not any(k.startswith(("choices.global.basenet.layer4", "fc.")) for k in state)
    assert state["choices.global.attnnet.conv.weight"].shape == (512, 1024, 1, 1)
    assert state["choices.local.attnnet.conv.weight"].shape == (256, 256, 1, 1)
    assert state["choices.global.attnnet.fc1.weight"].shape == (512, 1024 + 512)
    assert state["choices.global.attnnet.feature_fc.weight"].shape == (1024, 1024)
    assert full_model.choices["global"]["attrnet"] is full_model.choices["local"]["attrnet"]
    with torch.no_grad():
        features = full_model.backbone(torch.zeros(1, 3, 224, 224))
        local = full_model.backbone(torch.zeros(1, 3, 112, 112), "local")
    assert features.shape == (1, 1024, 14, 14)
    assert local.shape == (1, 256, 7, 7)


def test_attention_is_a_distribution_that_weights_raw_features() -> None:
    torch.manual_seed(1)
    config = ModelConfig(
        num_attributes=3,
        global_backbone="tiny",
        local_backbone=None,
        embed_size=16,
        attribute_embed_size=8,
        global_common_size=8,
    )
    model = ASEN(config).eval()
    head = model.choices["global"]["attnnet"]
    features = torch.randn(2, 64, 4, 4)
    attribute = model.choices["global"]["attrnet"](torch.tensor([0, 2]))
    embedding, alpha = head(features, attribute)
    assert alpha.shape == (2, 4, 4)
    assert torch.allclose(alpha.flatten(1).sum(1), torch.ones(2))
    # Recompute the official formula by hand: attended = sum alpha_ij V_ij, then ACA, then fc.
    scores = (
        torch.tanh(head.conv(features))
        * torch.tanh(head.attr_transform1(attribute))[:, :, None, None]
    ).sum(1) / math.sqrt(8)
    expected_alpha = torch.softmax(scores.flatten(1), dim=1).view(2, 4, 4)
    assert torch.allclose(alpha, expected_alpha, atol=1e-6)
    attended = (features * expected_alpha[:, None]).sum((2, 3))
    context = torch.relu(head.attr_transform2(attribute))
    mask = torch.sigmoid(head.fc2(torch.relu(head.fc1(torch.cat((attended, context), 1)))))
    assert torch.allclose(embedding, head.feature_fc(attended * mask), atol=1e-5)


def test_ablation_switches_remove_their_parameters_per_branch() -> None:
    config = tiny_config(2, global_spatial_attention=False, local_channel_attention=False)
    keys = ASEN(config).state_dict().keys()
    assert "choices.global.attnnet.conv.weight" not in keys
    assert "choices.global.attnnet.fc1.weight" in keys
    assert "choices.local.attnnet.conv.weight" in keys
    assert "choices.local.attnnet.fc1.weight" not in keys


def test_an_attribute_blind_network_never_trains_its_attribute_table() -> None:
    off = {"global_spatial_attention": False, "global_channel_attention": False}
    blind = ASEN(tiny_config(2, local=False, **off))
    assert not blind.config.uses_attributes
    assert not blind.choices["global"]["attrnet"].attr_embedding.weight.requires_grad
    assert "choices.global.attrnet.attr_embedding.weight" in blind.state_dict()
    assert ASEN(tiny_config(2, **off)).config.uses_attributes  # the local branch reads it


def test_fused_dot_product_is_weighted_cosines() -> None:
    torch.manual_seed(2)
    g1, g2, l1, l2 = (torch.randn(5, 32) for _ in range(4))
    dot = (fuse(g1, l1, 0.6) * fuse(g2, l2, 0.6)).sum(1)
    expected = 0.6 * functional.cosine_similarity(g1, g2) + 0.4 * functional.cosine_similarity(
        l1, l2
    )
    assert torch.allclose(dot, expected, atol=1e-6)
    assert torch.allclose(fuse(g1, None, 0.6).norm(dim=1), torch.ones(5))
