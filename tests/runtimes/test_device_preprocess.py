"""The device pre-processing (`--gpu-preprocess device`) against the exact Pillow path, on the CPU:
Pillow's bilinear resize as weight matrices, the decoder choice, and the agreement of the
embeddings and RoI boxes of the same graphs on synthetic garments and odd images."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from asen.runtimes.preprocess_agreement import measure, odd_images
from asen.runtimes.preprocessing import DevicePreprocessing, ExactPreprocessing
from asen.runtimes.sessions import open_session
from asen_contract import resample
from asen_contract.device_decode import DeviceDecoder
from asen_contract.errors import ImageError, LimitExceeded
from asen_contract.images import ImageLimits


def random_sizes(count: int, seed: int) -> list[tuple[int, int, int, int]]:
    """(width, height, new width, new height): up, down and mixed in either axis."""
    rng = np.random.default_rng(seed)
    sizes = []
    for _ in range(count):
        width, height = (int(v) for v in rng.integers(1, 120, 2))
        sizes.append(
            (
                width,
                height,
                int(rng.integers(1, 2 * width + 2)),
                int(rng.integers(1, 2 * height + 2)),
            )
        )
    return sizes


@pytest.mark.parametrize("namespace", ["numpy", "torch"])
def test_resize_equals_pillow_bit_for_bit(namespace):
    rng = np.random.default_rng(0)
    cases = random_sizes(120, seed=1) + [
        (20, 400, 224, 4480),
        (600, 800, 224, 298),
        (113, 1000, 112, 991),
    ]
    differing = []
    for width, height, new_width, new_height in cases:
        array = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        want = np.asarray(Image.fromarray(array).resize((new_width, new_height), Image.BILINEAR))
        pixels = array.transpose(2, 0, 1).copy()
        if namespace == "torch":
            pixels = torch.from_numpy(pixels)
        have = np.asarray(resample.resize(pixels, new_width, new_height)).transpose(1, 2, 0)
        if not np.array_equal(have, want):
            differing.append((width, height, new_width, new_height))
    assert differing == []


def test_the_pass_order_is_pillows():
    """Pillow 13 runs the vertical pass first when the height shrinks much more than the width;
    the rounding between the passes shows the order, so the other order must differ."""
    rng = np.random.default_rng(2)
    array = rng.integers(0, 256, (400, 20, 3), dtype=np.uint8)
    want = np.asarray(Image.fromarray(array).resize((6, 200), Image.BILINEAR)).transpose(2, 0, 1)
    pixels = array.transpose(2, 0, 1).astype(np.float64)
    across = resample.pillow_weights(20, 6).T
    down = resample.pillow_weights(400, 200)
    vertical_first = resample._round(resample._round(down @ pixels, np) @ across, np)
    horizontal_first = resample._round(down @ resample._round(pixels @ across, np), np)
    have = resample.resize(pixels, 6, 200)
    assert np.array_equal(have, want)
    expected = vertical_first if resample._PILLOW_MAJOR >= 13 else horizontal_first
    assert np.array_equal(expected, want) and not np.array_equal(vertical_first, horizontal_first)


@pytest.mark.parametrize("size", [96, 224])
def test_global_and_local_inputs_equal_the_exact_path(size):
    exact, device = ExactPreprocessing(), DevicePreprocessing("cpu")
    for name, data in odd_images():
        want, have = exact.decode(data), device.decode(data)
        assert exact.size(want) == device.size(have), name
        width, height = exact.size(want)
        assert np.array_equal(exact.global_input(want, size), device.global_input(have, size)), name
        boxes = [(0, 0, width, height), (width // 4, height // 5, width // 4 + 9, height // 5 + 9),
                 (3, 3, 3, 3), (-2, -3, width // 2, width // 2)]  # fmt: skip
        for box in boxes:
            local_want = exact.local_input(want, box, size // 2)
            local_have = device.local_input(have, box, size // 2)
            assert np.array_equal(local_want, local_have), (name, box)


def encoded(mode: str, fmt: str, size=(41, 29), **options) -> bytes:
    array = np.random.default_rng(3).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).convert(mode).save(buffer, fmt, **options)
    return buffer.getvalue()


def test_decoder_uses_nvimgcodec_for_plain_jpegs_and_pillow_otherwise():
    decoder = DeviceDecoder("cpu", ImageLimits())
    assert decoder.backend == "nvimgcodec-cpu"  # the dev extras install nvImageCodec
    jpegs = [encoded("RGB", "JPEG"), encoded("L", "JPEG"), encoded("RGB", "JPEG", progressive=True)]
    others = [encoded("CMYK", "JPEG"), encoded("RGBA", "PNG"), encoded("RGB", "WEBP")]
    pixels = decoder.decode(jpegs + others)
    assert decoder.decoded_by == {"nvimgcodec": 3, "pillow": 3}
    exact = ExactPreprocessing()
    for data, tensor in zip(jpegs + others, pixels, strict=True):
        assert tensor.dtype == torch.uint8 and tensor.shape == (3, 29, 41)
        assert np.array_equal(tensor.numpy(), np.asarray(exact.decode(data)).transpose(2, 0, 1))
    without = DeviceDecoder("cpu", ImageLimits(), use_nvimgcodec=False)
    assert without.backend == "pillow"
    without.decode(jpegs)
    assert without.decoded_by == {"nvimgcodec": 0, "pillow": 3}


def test_decoder_refuses_what_the_contract_refuses_naming_the_row():
    decoder = DeviceDecoder("cpu", ImageLimits(max_pixels=2000))
    good = encoded("RGB", "JPEG")
    with pytest.raises(ImageError, match="row 1: cannot decode image"):
        decoder.decode([good, b"not an image"])
    with pytest.raises(ImageError, match="row 0: .*truncated"):
        decoder.decode([good[: len(good) // 2]])  # nvImageCodec would decode what is there
    with pytest.raises(LimitExceeded, match="row 0: .*over the limit"):
        decoder.decode([encoded("RGB", "JPEG", size=(50, 50))])


@pytest.fixture(scope="module")
def sessions(graphs):
    config, paths = graphs
    return config, {name: open_session(path, "onnxruntime", 1) for name, path in paths.items()}


def test_embeddings_and_boxes_agree_on_synthetic_and_odd_images(sessions, synthetic_images):
    config, graph_sessions = sessions
    named = [(p.name, p.read_bytes()) for p in synthetic_images["test"][:6]] + odd_images()
    report = measure(graph_sessions, config, named)
    assert report["decoded_by"]["nvimgcodec"] > 0 and report["decoded_by"]["pillow"] > 0
    assert report["max_abs_pixel_diff"] == 0 and report["max_abs_input_diff"] == 0.0
    assert report["pairs"] == len(named) * config.num_attributes
    assert report["roi_identical"] == 1.0 and report["max_roi_shift_px"] == 0.0
    assert report["min_cosine"] >= 0.9999 and report["parity"]


def test_the_agreement_sees_a_resize_that_differs(sessions, synthetic_images, monkeypatch):
    """The same measurement with the pass order of Pillow < 13 forced on Pillow 13 (or the
    reverse): the figures must show the difference."""
    config, graph_sessions = sessions
    monkeypatch.setattr(resample, "_PILLOW_MAJOR", 12 if resample._PILLOW_MAJOR >= 13 else 13)
    named = [(p.name, p.read_bytes()) for p in synthetic_images["test"][:2]] + odd_images()
    report = measure(graph_sessions, config, named)
    assert report["max_abs_pixel_diff"] > 0 and report["max_abs_input_diff"] > 0
