"""`asen export --cpu-layout single` on a real tritonserver: one Python model `asen` with the
ensemble's tensors computes what the ensemble computes (exact and fast pre-processing, ASEN++
and a global-only model), answers concurrent requests of different K alike (Triton batches only
requests of one K together), and a bad request fails alone."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from asen.checkpoint import load_checkpoint
from asen.inference import Embedder
from asen.runtimes.pipeline import GRAPHS, GraphPipeline
from asen.runtimes.preprocessing import FastPreprocessing
from asen.runtimes.sessions import open_session
from asen_contract.images import ImageLimits
from asen_contract.model_info import ModelInfo
from asen_contract.tensors import ATTENTION, EMBEDDING, ENSEMBLE, ROI

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

SETTINGS = {"max_batch": 8, "max_image_pixels": SMALL_PIXEL_LIMIT, "cpu_layout": "single"}


def serve(checkpoint, tmp_path_factory, **settings):
    repository = export(checkpoint, tmp_path_factory.mktemp("repo") / "single", **settings)
    for server in running_server(repository, tmp_path_factory.mktemp("log")):
        yield server, repository


@pytest.fixture(scope="module")
def single(small_checkpoint, tmp_path_factory):
    yield from serve(small_checkpoint, tmp_path_factory, cpu_instances=2, **SETTINGS)


@pytest.fixture(scope="module")
def ensemble(small_server):
    return grpcclient.InferenceServerClient(small_server.grpc_url)


def images_and_ids() -> list[tuple[list[bytes], list[list[int]]]]:
    return [
        ([encode(garment_image(640, 480, seed=1), "JPEG")], [[0, 1, 2, 3]]),
        ([encode(garment_image(120, 260, seed=2))], [[3]]),
        (
            [encode(garment_image(200, 120, seed=3), "WEBP"), encode(garment_image(96, 96))],
            [[2, 0], [1, 1]],
        ),
    ]


def test_the_repository_is_one_python_model(single):
    server, repository = single
    assert [model["name"] for model in server.models()] == [ENSEMBLE]
    files = sorted(p.name for p in (repository / ENSEMBLE / "1").iterdir() if p.name[0] != "_")
    assert files == ["asen_contract", "export.json", "global_backbone.onnx", "global_head.onnx",
                     "graph_sessions.py", "local_branch.onnx", "model.py"]  # fmt: skip
    client = grpcclient.InferenceServerClient(server.grpc_url)
    config = client.get_model_config(ENSEMBLE, as_json=True)["config"]
    assert config["backend"] == "python" and config["instance_group"][0]["count"] == 2
    # a burst is split over the instances in batches of 4, not handed to one instance whole
    assert config["dynamic_batching"]["preferred_batch_size"] == [4]
    assert len(ModelInfo.from_triton_config(config).attributes) == 4  # what the gateway reads


@pytest.mark.parametrize("case", range(3))
def test_equals_the_ensemble(single, ensemble, case):
    server, _ = single
    blobs, ids = images_and_ids()[case]
    got = infer(grpcclient.InferenceServerClient(server.grpc_url), blobs, ids)
    want = infer(ensemble, blobs, ids)
    for name in (EMBEDDING, ATTENTION):
        np.testing.assert_allclose(got[name], want[name], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got[ROI], want[ROI])


def test_concurrent_requests_of_different_k_are_answered_alike(single):
    """Concurrent requests (K = 1, 2 and 4 mixed): the dynamic batcher hands the model several
    requests of one K at once, and mixed K arrive in separate batches."""
    server, _ = single
    cases = [(blobs, ids) for blobs, ids in images_and_ids() for _ in range(4)]
    client = grpcclient.InferenceServerClient(server.grpc_url)
    alone = [infer(client, blobs, ids) for blobs, ids in cases]
    results: dict[int, dict] = {}

    def call(index: int) -> None:
        own = grpcclient.InferenceServerClient(server.grpc_url)
        results[index] = infer(own, *cases[index])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(cases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) == list(range(len(cases)))
    for index, want in enumerate(alone):
        got = results[index]
        assert got[EMBEDDING].shape == want[EMBEDDING].shape
        assert (
            cosine(got[EMBEDDING].reshape(-1, 64), want[EMBEDDING].reshape(-1, 64)).min() > 0.9999
        )
        np.testing.assert_array_equal(got[ROI], want[ROI])


@pytest.mark.parametrize(
    "image, ids, words",
    [
        (b"\x89PNG\r\n\x1a\n not really a png", [0], "cannot decode image"),
        ("big", [0], "over the limit"),
        (None, [0, 4], "attribute id 4 is out of range"),
    ],
)
def test_a_bad_request_fails_alone(single, image, ids, words):
    server, _ = single
    good = encode(garment_image(200, 120))
    bad = {None: good, "big": encode(garment_image(1000, 500))}.get(image, image)
    requests = [(good, [1]), (bad, ids), (good, [2]), (good, [0, 3])]
    results: dict[int, tuple] = {}
    done = threading.Event()
    client = grpcclient.InferenceServerClient(server.grpc_url)

    def callback(index, result, error):
        results[index] = (result, error)
        if len(results) == len(requests):
            done.set()

    for index, (data, attributes) in enumerate(requests):
        client.async_infer(
            ENSEMBLE,
            ensemble_inputs([data], [attributes]),
            callback=lambda result, error, index=index: callback(index, result, error),
        )
    assert done.wait(60)
    for index in (0, 2, 3):
        result, error = results[index]
        assert error is None, error
        assert result.as_numpy(EMBEDDING).shape == (1, len(requests[index][1]), 64)
    _, error = results[1]
    assert error is not None and words in str(error)
    if image is not None:  # an image error names the row
        assert "IMAGE row 0" in str(error)
    assert error.status() == "StatusCode.INVALID_ARGUMENT"


FAILING_SESSIONS = """

_open_session = open_session


class _FailsAtThreeAttributes:
    def __init__(self, session):
        self.session, self.inputs, self.outputs = session, session.inputs, session.outputs

    def run(self, feeds):
        if "ATTRIBUTE" in feeds and feeds["ATTRIBUTE"].shape[1] == 3:
            raise RuntimeError("injected graph failure")
        return self.session.run(feeds)


def open_session(path, runtime="onnxruntime", threads=0):
    return _FailsAtThreeAttributes(_open_session(path, runtime, threads))
"""


def test_a_failing_graph_run_fails_its_requests_alone_and_the_model_keeps_serving(
    small_checkpoint, tmp_path_factory
):
    """A runtime error inside a graph run (injected into the repository's graph sessions for
    K = 3) is a clear INTERNAL error for those requests; the stub survives and serves on."""
    repository = export(small_checkpoint, tmp_path_factory.mktemp("repo") / "failing", **SETTINGS)
    sessions = repository / ENSEMBLE / "1" / "graph_sessions.py"
    sessions.write_text(sessions.read_text() + FAILING_SESSIONS)
    good = encode(garment_image(200, 120))
    requests = [[0, 1, 2], [1], [3, 2, 1], [2]]
    results: dict[int, tuple] = {}
    done = threading.Event()

    def callback(index, result, error):
        results[index] = (result, error)
        if len(results) == len(requests):
            done.set()

    for server in running_server(repository, tmp_path_factory.mktemp("log")):
        client = grpcclient.InferenceServerClient(server.grpc_url)
        for index, ids in enumerate(requests):
            client.async_infer(
                ENSEMBLE,
                ensemble_inputs([good], [ids]),
                callback=lambda result, error, index=index: callback(index, result, error),
            )
        assert done.wait(60)
        for index in (0, 2):
            _, error = results[index]
            assert error is not None and error.status() == "StatusCode.INTERNAL"
            assert "onnxruntime: RuntimeError: injected graph failure" in str(error)
        for index in (1, 3):
            result, error = results[index]
            assert error is None, error
            assert result.as_numpy(EMBEDDING).shape == (1, 1, 64)
        assert infer(client, [good, good], [[0, 1], [2, 3]])[EMBEDDING].shape == (2, 2, 64)


def test_fast_pre_processing_in_one_model(small_checkpoint, tmp_path_factory):
    for server, repository in serve(
        small_checkpoint, tmp_path_factory, cpu_preprocess="fast", **SETTINGS
    ):
        config = load_checkpoint(small_checkpoint).config
        graphs = {n: open_session(repository / ENSEMBLE / "1" / f"{n}.onnx") for n in GRAPHS}
        limits = ImageLimits(max_pixels=SMALL_PIXEL_LIMIT)
        pipeline = GraphPipeline(graphs, config, FastPreprocessing(limits))
        client = grpcclient.InferenceServerClient(server.grpc_url)
        for blobs, ids in images_and_ids():
            got = infer(client, blobs, ids)
            want = pipeline.embed_encoded(blobs, ids)
            for row in range(len(blobs)):
                assert cosine(got[EMBEDDING][row], want.embedding[row]).min() >= 0.9999
            np.testing.assert_array_equal(got[ROI], want.roi)


def test_a_global_only_model_in_one_model(global_only_checkpoint, tmp_path_factory):
    for server, repository in serve(global_only_checkpoint, tmp_path_factory, **SETTINGS):
        assert not (repository / ENSEMBLE / "1" / "local_branch.onnx").exists()
        embedder = Embedder(load_checkpoint(global_only_checkpoint))
        image = garment_image(640, 480)
        want = embedder.embed_image(image, [3, 1])
        got = infer(grpcclient.InferenceServerClient(server.grpc_url), [encode(image)], [[3, 1]])
        assert got[EMBEDDING].shape == (1, 2, 32)
        assert cosine(got[EMBEDDING][0], want.fused).min() >= 0.9999
        np.testing.assert_array_equal(got[ROI][0], want.roi)
