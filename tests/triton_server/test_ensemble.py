"""The `asen` ensemble on a real tritonserver equals the in-process Embedder."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from asen.checkpoint import load_checkpoint
from asen.inference import Embedder
from asen_contract.images import decode_image
from asen_contract.tensors import ATTENTION, EMBEDDING, ENSEMBLE, ROI

from ..contract.image_samples import format_samples
from .triton_support import (
    IMAGE_SIZES,
    SMALL_PIXEL_LIMIT,
    cosine,
    encode,
    ensemble_inputs,
    garment_image,
    infer,
)


@pytest.fixture(scope="module")
def embedder(small_checkpoint) -> Embedder:
    return Embedder(load_checkpoint(small_checkpoint))


@pytest.fixture(scope="module")
def client(small_server) -> grpcclient.InferenceServerClient:
    return grpcclient.InferenceServerClient(small_server.grpc_url)


@pytest.mark.parametrize("size", IMAGE_SIZES[:-1], ids=lambda s: f"{s[0]}x{s[1]}")
def test_equals_in_process_embedder(client, embedder, size):
    image = garment_image(*size, seed=size[0])
    attributes = [0, 1, 2, 3]
    want = embedder.embed_image(image, attributes)
    got = infer(client, [encode(image)], [attributes])
    assert got[EMBEDDING].shape == (1, 4, 64)
    assert cosine(got[EMBEDDING][0], want.fused).min() >= 0.9999
    np.testing.assert_array_equal(got[ROI][0], want.roi)
    np.testing.assert_allclose(got[ATTENTION][0], want.attention, rtol=1e-4, atol=1e-6)


def test_boxes_differ_between_attributes(client):
    """Guards the test model itself: a flat attention would make the RoI checks vacuous."""
    got = infer(client, [encode(garment_image(640, 480))], [[0, 1, 2, 3]])
    assert len({tuple(box) for box in got[ROI][0].tolist()}) > 1


def test_batched_rows_and_jpeg_webp(client, embedder):
    images = [garment_image(*size, seed=i) for i, size in enumerate(IMAGE_SIZES[1:4])]
    formats = ["JPEG", "WEBP", "PNG"]
    encoded = [encode(img, fmt) for img, fmt in zip(images, formats, strict=True)]
    attributes = [[2, 0], [1, 3], [3, 3]]
    got = infer(client, encoded, attributes)
    assert got[EMBEDDING].shape == (3, 2, 64)
    for row, data in enumerate(encoded):
        want = embedder.embed_image(decode_image(data), attributes[row])
        assert cosine(got[EMBEDDING][row], want.fused).min() >= 0.9999
        np.testing.assert_array_equal(got[ROI][row], want.roi)


@pytest.fixture(scope="module")
def format_cases() -> dict[str, bytes]:
    return format_samples(garment_image(150, 110, seed=5))


@pytest.mark.parametrize("case", sorted(format_samples(garment_image(8, 8))))
def test_every_accepted_format_is_served_like_in_process(client, embedder, format_cases, case):
    """Triton's preprocess and roi_crop decode with the contract: the same image as in process."""
    data = format_cases[case]
    want = embedder.embed_image(decode_image(data), [1, 2])
    got = infer(client, [data], [[1, 2]])
    assert cosine(got[EMBEDDING][0], want.fused).min() >= 0.9999
    np.testing.assert_array_equal(got[ROI][0], want.roi)


def test_ensemble_parameters(client, small_checkpoint):
    config = client.get_model_config(ENSEMBLE, as_json=True)["config"]
    parameters = {k: v["string_value"] for k, v in config["parameters"].items()}
    checkpoint = load_checkpoint(small_checkpoint)
    assert parameters["model_version"].startswith(checkpoint.model_version + "-cpu-")
    assert [a["name"] for a in json.loads(parameters["attributes"])] == [
        a.name for a in checkpoint.attributes
    ]
    assert float(parameters["beta"]) == pytest.approx(0.6)
    assert parameters["global_dim"] == "32"
    assert parameters["embedding_dim"] == "64"
    assert parameters["max_image_pixels"] == str(SMALL_PIXEL_LIMIT)


BAD_REQUESTS = {
    "corrupt": (b"\x89PNG\r\n\x1a\n not really a png", [0], "cannot decode image"),
    "unsupported": (b"%PDF-1.4 a document", [0], "cannot decode image"),
    "attribute": (None, [0, 4], "attribute id 4 is out of range"),
    "negative": (None, [-1], "attribute id -1 is out of range"),
    "pixels": ("big", [0], "over the limit"),
    "aspect": ("strip", [0], "aspect ratio of 25000.0"),  # 400,000 pixels: within the pixel limit
}


@pytest.mark.parametrize("case", sorted(BAD_REQUESTS))
def test_bad_request_fails_alone(small_server, case):
    """Concurrent good and bad requests: only the bad one fails, and the server keeps serving."""
    data, attributes, message = BAD_REQUESTS[case]
    if data is None:
        data = encode(garment_image(120, 90))
    elif data == "big":
        data = encode(garment_image(1000, 500))  # 500,000 pixels > the repository's limit
    elif data == "strip":
        data = encode(garment_image(100_000, 4))  # 1.3 KB; once made gigabytes when resized
    good = encode(garment_image(200, 120))
    client = grpcclient.InferenceServerClient(small_server.grpc_url)
    results: dict[int, object] = {}
    requests = [(good, [1]), (data, attributes), (good, [2]), (good, [0])]
    for index, (image, ids) in enumerate(requests):
        client.async_infer(
            ENSEMBLE,
            ensemble_inputs([image], [ids]),
            callback=lambda result, error, index=index: results.__setitem__(index, (result, error)),
        )
    deadline = time.monotonic() + 60
    while len(results) < len(requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(results) == len(requests)
    for index in (0, 2, 3):
        result, error = results[index]
        assert error is None, error
        assert result.as_numpy(EMBEDDING).shape == (1, 1, 64)
    _, error = results[1]
    assert error is not None and message in str(error)
    assert error.status() == "StatusCode.INVALID_ARGUMENT"  # the caller's error, never INTERNAL
    again = infer(client, [good], [[3]])  # still serving
    assert again[EMBEDDING].shape == (1, 1, 64)


def test_python_models_import_the_repository_s_contract(small_server, small_repository):
    """The one route: Triton puts the version folder on the import path; nothing else is used."""
    log = small_server.log_path.read_text(errors="replace")
    for model in ("preprocess", "roi_crop"):
        expected = small_repository / model / "1" / "asen_contract" / "__init__.py"
        assert f"{model}: asen_contract from {expected}" in log
