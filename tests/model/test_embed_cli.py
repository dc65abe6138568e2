"""`asen embed` on a tiny model, and the attention heatmap drawing it uses."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from asen.checkpoint import load_checkpoint
from asen.cli.main import main
from asen.inference import Embedder
from asen.visualize import attention_in_source, save_attention_figure, save_attention_grid

from ..factories import tiny_attributes, tiny_checkpoint, tiny_config

ATTRIBUTES = ["collar_design", "sleeve_length", "skirt_length"]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.pt"
    return tiny_checkpoint(path, tiny_config(3), tiny_attributes(ATTRIBUTES, 4), seed=1)


@pytest.fixture(scope="module")
def image_path(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("img") / "garment.jpg"
    Image.fromarray(rng.integers(0, 256, size=(90, 70, 3), dtype=np.uint8)).save(path)
    return path


def _embed(capsys, model_path, image_path, *extra):
    args = ["embed", "--checkpoint", str(model_path), "--image", str(image_path), *extra]
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_single_attribute_json(capsys, model_path, image_path):
    code, out, _ = _embed(capsys, model_path, image_path, "--attribute", "sleeve_length", "--json")
    assert code == 0
    document = json.loads(out)
    checkpoint = load_checkpoint(model_path)
    expected = Embedder(checkpoint).embed_pairs([Image.open(image_path).convert("RGB")], [1])
    assert document["attribute"] == "sleeve_length" and document["attribute_id"] == 1
    assert document["model_version"] == checkpoint.model_version
    embedding = np.asarray(document["embedding"])
    assert embedding.shape == (2 * checkpoint.config.embed_size,)
    np.testing.assert_allclose(embedding, expected.fused[0], rtol=1e-5, atol=1e-6)
    assert np.linalg.norm(embedding) == pytest.approx(1.0, abs=1e-5)
    assert document["roi"] == [int(v) for v in expected.roi[0]]
    np.testing.assert_allclose(document["attention"], expected.attention[0], rtol=1e-5)
    assert np.asarray(document["attention"]).shape == (4, 4)  # 64 px / stride 16
    assert document["global_dim"] == checkpoint.config.embed_size


def test_several_attributes(capsys, model_path, image_path, tmp_path):
    heatmap = tmp_path / "grid.png"
    code, out, _ = _embed(
        capsys,
        model_path,
        image_path,
        "--attribute",
        "skirt_length",
        "--attribute",
        "collar_design",
        "--json",
        "--heatmap",
        str(heatmap),
    )
    assert code == 0
    document = json.loads(out)
    assert [r["attribute"] for r in document["results"]] == ["skirt_length", "collar_design"]
    assert document["model_version"] == document["results"][0]["model_version"]
    _, single, _ = _embed(capsys, model_path, image_path, "--attribute", "collar_design", "--json")
    alone = json.loads(single)
    np.testing.assert_allclose(document["results"][1]["embedding"], alone["embedding"], atol=1e-5)
    assert document["results"][1]["roi"] == alone["roi"]
    with Image.open(heatmap) as picture:
        assert picture.format == "PNG" and picture.size[0] > picture.size[1]


def test_text_output_and_single_heatmap(capsys, model_path, image_path, tmp_path):
    heatmap = tmp_path / "one.png"
    code, out, _ = _embed(
        capsys, model_path, image_path, "--attribute", "collar_design", "--heatmap", str(heatmap)
    )
    assert code == 0 and "collar_design: roi [" in out and str(heatmap) in out
    assert heatmap.stat().st_size > 1000


def test_unknown_attribute_lists_the_known_ones(capsys, model_path, image_path):
    code, _, err = _embed(capsys, model_path, image_path, "--attribute", "hat_brim")
    assert code == 2
    assert "hat_brim" in err and all(name in err for name in ATTRIBUTES)


def test_corrupt_and_missing_images(capsys, model_path, tmp_path):
    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    code, _, err = _embed(capsys, model_path, corrupt, "--attribute", "collar_design")
    assert code == 2 and "broken.jpg" in err and "cannot decode image" in err
    code, _, err = _embed(capsys, model_path, tmp_path / "absent.png", "--attribute", "x")
    assert code == 2 and "absent.png" in err


def test_attention_is_placed_over_the_centre_crop():
    # A portrait image: the global crop is its middle square, 70 px high starting at (90-70)//2.
    attention = np.zeros((4, 4), np.float32)
    attention[0, 0] = 1.0
    heat, region = attention_in_source(attention, (70, 90))
    assert region == (0, 10, 70, 80)
    assert heat.max() == 1.0 and heat.min() == 0.0
    assert heat[:20, :20].mean() > 0.5 and heat[-50:, -50:].max() == 0.0


def test_heatmap_follows_the_attention(tmp_path):
    image = Image.new("RGB", (80, 80), (128, 128, 128))
    pictures = []
    for corner in ((0, 0), (3, 3)):
        attention = np.zeros((4, 4), np.float32)
        attention[corner] = 1.0
        path = save_attention_figure(image, attention, None, "t", tmp_path / f"{corner[0]}.png")
        pictures.append(np.asarray(Image.open(path).convert("RGB"), dtype=np.int32))
    assert pictures[0].shape == pictures[1].shape
    # Where the attention peaks the overlay is red (jet colormap top), elsewhere it is blue.
    difference = pictures[0] - pictures[1]
    height, width = difference.shape[:2]
    top_left = difference[: height // 2, : width // 2, 0].mean()
    bottom_right = difference[height // 2 :, width // 2 :, 0].mean()
    assert top_left > 10 and bottom_right < -10
    with pytest.raises(ValueError):
        save_attention_grid(image, [], [], [], tmp_path / "empty.png")


def test_device_errors(capsys, model_path, image_path):
    code, _, err = _embed(capsys, model_path, image_path, "--attribute", "x", "--device", "tpu9")
    assert code == 2 and "device" in err
    if not torch.cuda.is_available():
        code, _, err = _embed(
            capsys, model_path, image_path, "--attribute", "x", "--device", "cuda"
        )
        assert code == 2 and "CUDA is not available" in err
