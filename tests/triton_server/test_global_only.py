"""A global-only (stage 1 / ASEN) checkpoint: no local branch, EMBEDDING = l2norm(global)."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from asen.checkpoint import load_checkpoint
from asen.inference import Embedder
from asen_contract.images import inspect_image
from asen_contract.tensors import EMBEDDING, ROI

from .triton_support import (
    cosine,
    encode,
    ensemble_inputs,
    export,
    garment_image,
    infer,
    running_server,
)


@pytest.fixture(scope="module")
def server(global_only_checkpoint, tmp_path_factory):
    repository = export(global_only_checkpoint, tmp_path_factory.mktemp("repo") / "g")
    yield from running_server(repository, tmp_path_factory.mktemp("log"))


def test_repository_has_no_local_branch(server):
    names = {model["name"] for model in server.models()}
    assert names == {"asen", "preprocess", "global_backbone", "global_head", "roi_crop"}


@pytest.mark.parametrize("size", [(96, 96), (120, 260), (640, 480)], ids=str)
def test_equals_in_process_embedder(server, global_only_checkpoint, size):
    embedder = Embedder(load_checkpoint(global_only_checkpoint))
    image = garment_image(*size)
    want = embedder.embed_image(image, [3, 1])
    got = infer(grpcclient.InferenceServerClient(server.grpc_url), [encode(image)], [[3, 1]])
    assert got[EMBEDDING].shape == (1, 2, 32)
    np.testing.assert_allclose(np.linalg.norm(got[EMBEDDING][0], axis=-1), 1.0, rtol=1e-5)
    assert cosine(got[EMBEDDING][0], want.fused).min() >= 0.9999
    np.testing.assert_array_equal(got[ROI][0], want.roi)


def test_an_image_whose_pixels_fail_is_refused(server):
    """roi_crop reads only the headers here; the truncated JPEG's header is fine, so it is
    `preprocess` (which decodes every pixel first) that refuses it, naming the row."""
    client = grpcclient.InferenceServerClient(server.grpc_url)
    good = encode(garment_image(640, 480), "JPEG")
    truncated = good[: len(good) // 2]
    inspect_image(truncated)  # the header alone passes
    with pytest.raises(grpcclient.InferenceServerException) as error:
        client.infer("asen", ensemble_inputs([good, truncated], [[0], [1]]))
    assert error.value.status() == "StatusCode.INVALID_ARGUMENT"
    assert "row 1" in str(error.value) and "cannot decode" in str(error.value)
