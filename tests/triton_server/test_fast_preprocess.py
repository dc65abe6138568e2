"""`asen export --cpu-preprocess fast` on a real tritonserver: the served embeddings are the
in-process fast path's on the same graphs (so serving adds no error of its own), they differ
from the exact path's where a JPEG is large enough to be decoded at a reduced scale, and bad
images are still refused per request."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
from google.protobuf import text_format
from tritonclient.grpc import model_config_pb2

from asen.checkpoint import load_checkpoint
from asen.runtimes.pipeline import GRAPHS, GraphPipeline
from asen.runtimes.preprocessing import ExactPreprocessing, FastPreprocessing
from asen.runtimes.sessions import open_session
from asen_contract.images import ImageLimits
from asen_contract.tensors import EMBEDDING, ROI

from .triton_support import (
    SMALL_PIXEL_LIMIT,
    cosine,
    encode,
    ensemble_inputs,
    export,
    garment_image,
    infer,
    running_server,
)


@pytest.fixture(scope="module")
def fast_repository(small_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("repo") / "fast"
    return export(small_checkpoint, out, cpu_preprocess="fast", max_image_pixels=SMALL_PIXEL_LIMIT)


@pytest.fixture(scope="module")
def client(fast_repository, tmp_path_factory):
    for server in running_server(fast_repository, tmp_path_factory.mktemp("log")):
        yield grpcclient.InferenceServerClient(server.grpc_url)


@pytest.fixture(scope="module")
def pipelines(small_checkpoint, fast_repository):
    config = load_checkpoint(small_checkpoint).config
    sessions = {name: open_session(fast_repository / name / "1" / "model.onnx") for name in GRAPHS}
    limits = ImageLimits(max_pixels=SMALL_PIXEL_LIMIT)
    return (
        GraphPipeline(sessions, config, FastPreprocessing(limits)),
        GraphPipeline(sessions, config, ExactPreprocessing(limits)),
    )


def test_the_models_are_told_to_preprocess_fast(fast_repository, small_repository):
    for name in ("preprocess", "roi_crop"):
        config = text_format.Parse(
            (fast_repository / name / "config.pbtxt").read_text(), model_config_pb2.ModelConfig()
        )
        assert config.parameters["preprocess"].string_value == "fast"
    ensemble = (fast_repository / "asen" / "config.pbtxt").read_text()
    assert ensemble != (small_repository / "asen" / "config.pbtxt").read_text()  # version


@pytest.mark.parametrize(
    "size, fmt",
    [((640, 480), "JPEG"), ((333, 600), "JPEG"), ((640, 480), "PNG"), ((90, 70), "JPEG")],
)
def test_served_equals_the_in_process_fast_path(client, pipelines, size, fmt):
    fast, exact = pipelines
    data = encode(garment_image(*size, seed=size[1]), fmt)
    attributes = [0, 1, 2, 3]
    got = infer(client, [data], [attributes])
    want = fast.embed_encoded([data], [attributes])
    assert cosine(got[EMBEDDING][0], want.embedding[0]).min() >= 0.9999
    np.testing.assert_array_equal(got[ROI][0], want.roi[0])
    reference = exact.embed_encoded([data], [attributes])
    reduced = fmt == "JPEG" and min(size) >= 2 * 96  # decoded at 1/2 or less: not bit-exact
    assert np.array_equal(want.embedding, reference.embedding) != reduced
    assert cosine(want.embedding[0], reference.embedding[0]).min() >= 0.95


def test_a_bad_image_is_refused_alone(client):
    good = encode(garment_image(640, 480), "JPEG")
    truncated = good[: len(good) // 3]
    too_large = encode(garment_image(1000, 500), "JPEG")
    for bad, words in ((truncated, "cannot decode"), (too_large, "over the limit")):
        with pytest.raises(grpcclient.InferenceServerException) as error:
            client.infer("asen", ensemble_inputs([good, bad], [[0], [1]]))
        assert "row 1" in str(error.value) and words in str(error.value)
        assert error.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert infer(client, [good], [[2]])[EMBEDDING].shape == (1, 1, 64)
