"""An imported official checkpoint embeds exactly like the official code (the oracle in
official_oracle.py): fused cosine >= 0.9999 and identical RoI boxes, on images of several sizes
and aspect ratios."""

import numpy as np
import pytest
import torch

from asen.checkpoint import load_checkpoint
from asen.cli.main import main
from asen.inference import Embedder

from .official_oracle import global_transform, official_embed
from .official_weights import (
    SMALL_SIZES,
    official_state_dict,
    sharpen_attention,
    small_official_state,
)


def _import(tmp_path, state, dataset, *options, wrap=True):
    source = tmp_path / "model_best.pth.tar"
    torch.save({"model": state, "epoch": 12, "mAP": 0.6543} if wrap else state, source)
    out = tmp_path / "imported.pt"
    code = main(["import-official", str(source), "--dataset", dataset, "--out", str(out), *options])
    assert code == 0
    return load_checkpoint(out)


def _cosine(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def _small_options():
    return ["--global-size", "96", "--local-size", "48"]


def test_global_local_model_matches_official(tmp_path, images):
    state = small_official_state(8, images)
    checkpoint = _import(tmp_path, state, "fashionai", *_small_options())
    assert checkpoint.config.has_local and checkpoint.config.global_backbone == "tiny"
    assert [a.name for a in checkpoint.attributes][:2] == ["skirt_length", "sleeve_length"]
    assert checkpoint.extra["official_epoch"] == 12
    embedder = Embedder(checkpoint)
    boxes = set()
    for attribute in (0, 3, 7):
        ours = embedder.embed_pairs(images, [attribute] * len(images))
        for row, image in enumerate(images):
            fused, box, attention = official_embed(state, image, attribute, **SMALL_SIZES)
            assert _cosine(ours.fused[row], fused) >= 0.9999
            assert tuple(int(v) for v in ours.roi[row]) == box
            np.testing.assert_allclose(ours.attention[row], attention, rtol=1e-4, atol=1e-6)
            boxes.add((image.size, box))
    # The weights were made so that the RoI is a real part of most images, not the whole frame.
    partial = [box for size, box in boxes if (box[2] - box[0]) < min(size)]
    assert len(partial) >= 3


def test_several_attributes_of_one_image_match_official(tmp_path, images):
    state = small_official_state(8, images)
    embedder = Embedder(_import(tmp_path, state, "fashionai", *_small_options()))
    image = images[4]
    ours = embedder.embed_image(image, [1, 2, 5])
    for row, attribute in enumerate([1, 2, 5]):
        fused, box, _ = official_embed(state, image, attribute, **SMALL_SIZES)
        assert _cosine(ours.fused[row], fused) >= 0.9999
        assert tuple(int(v) for v in ours.roi[row]) == box


def test_global_only_model_and_bare_state_dict(tmp_path, images):
    state = small_official_state(9, images, local_backbone=None)
    checkpoint = _import(tmp_path, state, "darn", *_small_options(), wrap=False)
    assert not checkpoint.config.has_local
    embedder = Embedder(checkpoint)
    ours = embedder.embed_pairs(images, [6] * len(images))
    for row, image in enumerate(images):
        fused, _, _ = official_embed(state, image, 6, **SMALL_SIZES)
        assert ours.fused.shape[1] == 32
        assert _cosine(ours.fused[row], fused) >= 0.9999


@pytest.mark.slow
def test_full_size_resnet50_resnet34_with_data_parallel_prefix(tmp_path, images):
    state = official_state_dict(5, "resnet50", "resnet34", seed=3)
    chosen = [images[0], images[4]]
    sharpen_attention(state, "global", torch.stack([global_transform(i, 224) for i in chosen]))
    wrapped = {f"module.{k}": v for k, v in state.items()}
    checkpoint = _import(tmp_path, wrapped, "deepfashion")
    config = checkpoint.config
    assert (config.global_backbone, config.local_backbone) == ("resnet50", "resnet34")
    assert (config.global_size, config.local_size, config.embed_size) == (224, 112, 1024)
    assert (config.global_common_size, config.local_common_size) == (512, 256)
    ours = Embedder(checkpoint).embed_pairs(chosen, [2, 2])
    for row, image in enumerate(chosen):
        fused, box, _ = official_embed(state, image, 2)
        assert ours.fused.shape[1] == 2048
        assert _cosine(ours.fused[row], fused) >= 0.9999
        assert tuple(int(v) for v in ours.roi[row]) == box
