"""Random but non-trivial weights in the OFFICIAL ASEN++ state-dict layout, built from names
alone (no project code), as `torch.save({'model': ..., 'epoch', 'mAP'})` would store them."""

from __future__ import annotations

import math

import torch

RESNETS = {  # block type, blocks per layer, stem width
    "resnet50": ("bottleneck", (3, 4, 6), 64),
    "resnet34": ("basic", (3, 4, 6), 64),
    "resnet18": ("basic", (2, 2, 2), 64),
    "tiny": ("basic", (1, 1, 1), 16),
}


class _Maker:
    def __init__(self, seed: int):
        self.g = torch.Generator().manual_seed(seed)
        self.state: dict[str, torch.Tensor] = {}

    def randn(self, *shape, scale=1.0):
        return torch.randn(*shape, generator=self.g) * scale

    def uniform(self, low, high, *shape):
        return low + (high - low) * torch.rand(*shape, generator=self.g)

    def conv(self, name, out_c, in_c, k):
        self.state[name + ".weight"] = self.randn(
            out_c, in_c, k, k, scale=math.sqrt(2 / (in_c * k * k))
        )

    def bn(self, name, c):
        self.state[name + ".weight"] = self.uniform(0.3, 0.8, c)
        self.state[name + ".bias"] = self.randn(c, scale=0.1)
        self.state[name + ".running_mean"] = self.randn(c, scale=0.1)
        self.state[name + ".running_var"] = self.uniform(0.5, 1.5, c)
        self.state[name + ".num_batches_tracked"] = torch.tensor(0)

    def linear(self, name, out_f, in_f, scale=1.0):
        self.state[name + ".weight"] = self.randn(out_f, in_f, scale=scale / math.sqrt(in_f))
        self.state[name + ".bias"] = self.randn(out_f, scale=0.1)


def _resnet(m: _Maker, prefix: str, name: str) -> int:
    kind, layers, width = RESNETS[name]
    expansion = 4 if kind == "bottleneck" else 1
    m.conv(prefix + "conv1", width, 3, 7)
    m.bn(prefix + "bn1", width)
    inplanes = width
    for layer, blocks in enumerate(layers, start=1):
        planes = width * 2 ** (layer - 1)
        for index in range(blocks):
            name_ = f"{prefix}layer{layer}.{index}"
            stride = 2 if layer > 1 and index == 0 else 1
            if index == 0 and (stride != 1 or inplanes != planes * expansion):
                m.conv(name_ + ".downsample.0", planes * expansion, inplanes, 1)
                m.bn(name_ + ".downsample.1", planes * expansion)
            if kind == "bottleneck":
                m.conv(name_ + ".conv1", planes, inplanes, 1)
                m.bn(name_ + ".bn1", planes)
                m.conv(name_ + ".conv2", planes, planes, 3)
                m.bn(name_ + ".bn2", planes)
                m.conv(name_ + ".conv3", planes * 4, planes, 1)
                m.bn(name_ + ".bn3", planes * 4)
            else:
                m.conv(name_ + ".conv1", planes, inplanes, 3)
                m.bn(name_ + ".bn1", planes)
                m.conv(name_ + ".conv2", planes, planes, 3)
                m.bn(name_ + ".bn2", planes)
            inplanes = planes * expansion
    return inplanes


def _head(m, prefix, channels, attr_size, common, reduction, embed, spatial, channel):
    if spatial:
        m.linear(prefix + "attr_transform1", common, attr_size)
        m.conv(prefix + "conv", common, channels, 1)
        m.state[prefix + "conv.bias"] = m.randn(common, scale=0.1)
    if channel:
        m.linear(prefix + "attr_transform2", attr_size, attr_size)
        m.linear(prefix + "fc1", channels // reduction, channels + attr_size)
        m.linear(prefix + "fc2", channels, channels // reduction)
    m.linear(prefix + "feature_fc", embed, channels)


def official_state_dict(
    num_attributes: int,
    global_backbone: str = "resnet50",
    local_backbone: str | None = "resnet34",
    attr_size: int = 512,
    embed: int = 1024,
    global_common: int = 512,
    local_common: int = 256,
    reduction: int = 2,
    spatial: bool = True,
    channel: bool = True,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    m = _Maker(seed)
    table = m.randn(num_attributes, attr_size)
    m.state["choices.global.attrnet.attr_embedding.weight"] = table
    channels = _resnet(m, "choices.global.basenet.", global_backbone)
    _head(
        m,
        "choices.global.attnnet.",
        channels,
        attr_size,
        global_common,
        reduction,
        embed,
        spatial,
        channel,
    )
    if local_backbone is not None:
        m.state["choices.local.attrnet.attr_embedding.weight"] = table  # one shared table
        channels = _resnet(m, "choices.local.basenet.", local_backbone)
        _head(
            m,
            "choices.local.attnnet.",
            channels,
            attr_size,
            local_common,
            reduction,
            embed,
            spatial,
            channel,
        )
    return m.state


@torch.no_grad()
def sharpen_attention(state: dict[str, torch.Tensor], level: str, inputs: torch.Tensor) -> None:
    """Data-dependent tweak so attention maps have clear, image-dependent peaks.

    Random backbones give nearly uniform attention (tanh saturates the same way everywhere).
    Here the spatial conv follows the main direction of variation of the backbone features on
    `inputs` (normalised inputs [B, 3, S, S]), standardised, plus a random part; the attribute
    query is biased positive so the channels add up coherently. Scores then span several units
    across positions.
    """
    from .official_oracle import resnet_features

    prefix = f"choices.{level}.attnnet."
    features = resnet_features(inputs, state, f"choices.{level}.basenet.")
    x = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])
    mean = x.mean(dim=0)
    _, _, vh = torch.linalg.svd(x - mean, full_matrices=False)
    projection = (x - mean) @ vh[0]
    # Point the direction at the minority of positions (positive skew): the peaks then sit on a
    # compact region of each image (a blob), not on its background.
    direction = vh[0] if (projection**3).mean() > 0 else -vh[0]
    spread = projection.std()
    weight = state[prefix + "conv.weight"]
    common = weight.shape[0]
    random_part = weight[:, :, 0, 0] / weight[:, :, 0, 0].norm(dim=1, keepdim=True)
    coherent = direction / spread
    new = 1.5 * coherent[None, :] + 0.3 * random_part / spread
    state[prefix + "conv.weight"] = new[:, :, None, None].contiguous()
    state[prefix + "conv.bias"] = -(new @ mean)
    state[prefix + "attr_transform1.bias"] = torch.full((common,), 2.0)
    table = state[prefix + "attr_transform1.weight"]
    state[prefix + "attr_transform1.weight"] = table / table.norm(dim=1, keepdim=True)


SMALL = dict(attr_size=16, embed=32, global_common=32, local_common=16, reduction=4)
SMALL_SIZES = dict(global_size=96, local_size=48)


def small_official_state(num_attributes, images, local_backbone="tiny", seed=0):
    """Small official-layout weights whose global attention has clear peaks on `images`."""
    from .official_oracle import global_transform

    state = official_state_dict(num_attributes, "tiny", local_backbone, seed=seed, **SMALL)
    inputs = torch.stack([global_transform(img, SMALL_SIZES["global_size"]) for img in images])
    sharpen_attention(state, "global", inputs)
    return state
