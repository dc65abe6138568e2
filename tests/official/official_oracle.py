"""An independent transcription of the official ASEN++ test-time forward pass (Maryeon/asenpp),
written with plain functional torch ops over the OFFICIAL parameter names, plus the official
pre-processing (torchvision semantics via PIL) and the official LocalTransform RoI crop (OpenCV).

It shares no code with `asen`: it is the oracle the imported model is compared against.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)


# ---- pre-processing (torchvision Resize / CenterCrop / ToTensor / Normalize on PIL) ----------


def tv_resize(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    if (w <= h and w == size) or (h <= w and h == size):
        return img
    if w < h:
        return img.resize((size, int(size * h / w)), Image.BILINEAR)
    return img.resize((int(size * w / h), size), Image.BILINEAR)


def tv_center_crop(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def tv_to_normalized(img: Image.Image) -> torch.Tensor:
    tensor = torch.from_numpy(np.array(img, dtype=np.uint8)).permute(2, 0, 1).float() / 255.0
    return (tensor - MEAN) / STD


def global_transform(img: Image.Image, size: int) -> torch.Tensor:
    return tv_to_normalized(tv_center_crop(tv_resize(img, size), size))


def local_transform(
    img: Image.Image, mask: np.ndarray, global_size: int, local_size: int, threshold: float
):
    """The official LocalTransform: returns (local input, crop box in original pixels)."""
    mask = cv2.resize(mask, (global_size, global_size), interpolation=cv2.INTER_LINEAR)
    mask = (mask - np.min(mask)) / (np.max(mask) - np.min(mask))
    mask = np.uint8(mask * 255)
    _, mask = cv2.threshold(mask, 255 * threshold, 255, cv2.THRESH_BINARY)
    x, y, w, h = cv2.boundingRect(mask)
    xc, yc, d = x + w // 2, y + h // 2, max(w, h)
    x = global_size - d if xc + d // 2 > global_size else max(0, xc - d // 2)
    y = global_size - d if yc + d // 2 > global_size else max(0, yc - d // 2)
    short_edge = 0 if img.size[0] < img.size[1] else 1
    x = int(x / global_size * img.size[short_edge])
    y = int(y / global_size * img.size[short_edge])
    d = int(d / global_size * img.size[short_edge])
    if short_edge == 0:
        y += (img.size[1] - img.size[0]) // 2
    else:
        x += (img.size[0] - img.size[1]) // 2
    crop = img.crop((x, y, x + d, y + d))
    return tv_to_normalized(tv_resize(crop, local_size)), (x, y, x + d, y + d)


# ---- network ---------------------------------------------------------------------------------


def _bn(x, p, name):
    return F.batch_norm(
        x,
        p[name + ".running_mean"],
        p[name + ".running_var"],
        p[name + ".weight"],
        p[name + ".bias"],
        training=False,
        eps=1e-5,
    )


def _block(x, p, name, stride):
    bottleneck = name + ".conv3.weight" in p
    if name + ".downsample.0.weight" in p:
        residual = _bn(
            F.conv2d(x, p[name + ".downsample.0.weight"], stride=stride), p, name + ".downsample.1"
        )
    else:
        residual = x
    if bottleneck:
        out = F.relu(_bn(F.conv2d(x, p[name + ".conv1.weight"]), p, name + ".bn1"))
        out = F.relu(
            _bn(
                F.conv2d(out, p[name + ".conv2.weight"], stride=stride, padding=1), p, name + ".bn2"
            )
        )
        out = _bn(F.conv2d(out, p[name + ".conv3.weight"]), p, name + ".bn3")
    else:
        out = F.relu(
            _bn(F.conv2d(x, p[name + ".conv1.weight"], stride=stride, padding=1), p, name + ".bn1")
        )
        out = _bn(F.conv2d(out, p[name + ".conv2.weight"], padding=1), p, name + ".bn2")
    return F.relu(out + residual)


def resnet_features(x, p, prefix):
    x = F.relu(_bn(F.conv2d(x, p[prefix + "conv1.weight"], stride=2, padding=3), p, prefix + "bn1"))
    x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
    for layer in (1, 2, 3):
        index = 0
        while f"{prefix}layer{layer}.{index}.conv1.weight" in p:
            stride = 2 if (layer > 1 and index == 0) else 1
            x = _block(x, p, f"{prefix}layer{layer}.{index}", stride)
            index += 1
    return x


def _linear(x, p, name):
    return F.linear(x, p[name + ".weight"], p[name + ".bias"])


def attention_embedding(x, a, p, prefix):
    """Official AttnEmbedding.forward: (embedding, attention map [B, H, W])."""
    if prefix + "conv.weight" in p:
        v = torch.tanh(F.conv2d(x, p[prefix + "conv.weight"], p[prefix + "conv.bias"]))
        q = torch.tanh(_linear(a, p, prefix + "attr_transform1"))
        scores = (v * q[:, :, None, None]).sum(dim=1, keepdim=True) / math.sqrt(v.size(1))
        attmap = torch.softmax(scores.flatten(2), dim=2).view(x.size(0), 1, x.size(2), x.size(3))
        pooled = (x * attmap).flatten(2).sum(dim=2)
    else:
        attmap = None
        pooled = x.mean(dim=(2, 3))
    if prefix + "fc1.weight" in p:
        context = F.relu(_linear(a, p, prefix + "attr_transform2"))
        hidden = F.relu(_linear(torch.cat((pooled, context), dim=1), p, prefix + "fc1"))
        pooled = pooled * torch.sigmoid(_linear(hidden, p, prefix + "fc2"))
    return _linear(pooled, p, prefix + "feature_fc"), attmap[:, 0] if attmap is not None else None


def branch(x, attribute, p, level):
    a = F.embedding(torch.tensor([attribute]), p[f"choices.{level}.attrnet.attr_embedding.weight"])
    features = resnet_features(x, p, f"choices.{level}.basenet.")
    return attention_embedding(features, a, p, f"choices.{level}.attnnet.")


@torch.no_grad()
def official_embed(
    p, img: Image.Image, attribute: int, global_size=224, local_size=112, threshold=0.1, beta=0.6
):
    """(fused embedding [D], RoI box or None, attention map [h, w]) for one image."""
    g, attmap = branch(global_transform(img, global_size)[None], attribute, p, "global")
    g = F.normalize(g, p=2, dim=1)
    if not any(k.startswith("choices.local.") for k in p):
        return g[0], None, attmap[0].numpy()
    lx, box = local_transform(img, attmap[0].numpy(), global_size, local_size, threshold)
    l_feat, _ = branch(lx[None], attribute, p, "local")
    fused = torch.cat(
        (math.sqrt(beta) * g, math.sqrt(1 - beta) * F.normalize(l_feat, p=2, dim=1)), dim=1
    )
    return fused[0], box, attmap[0].numpy()
