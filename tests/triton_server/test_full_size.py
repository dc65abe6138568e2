"""Full-size ASEN++ shapes (ResNet-50 224 + ResNet-34 112, 2048-d) through the real server."""

from __future__ import annotations

import numpy as np
import pytest
import tritonclient.grpc as grpcclient

from asen.checkpoint import load_checkpoint
from asen.inference import Embedder
from asen.model.config import ModelConfig
from asen_contract.images import decode_image
from asen_contract.tensors import ATTENTION, EMBEDDING, ROI

from .triton_support import (
    cosine,
    encode,
    export,
    garment_image,
    infer,
    make_checkpoint,
    running_server,
)

pytestmark = pytest.mark.slow

FASHIONAI_ATTRIBUTES = 8


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp("full") / "asenpp.pt"
    return make_checkpoint(path, ModelConfig(num_attributes=FASHIONAI_ATTRIBUTES))


@pytest.fixture(scope="module")
def server(checkpoint, tmp_path_factory):
    repository = export(checkpoint, tmp_path_factory.mktemp("repo") / "full", max_batch=8)
    yield from running_server(repository, tmp_path_factory.mktemp("log"))


def test_full_size_all_attributes_equal_in_process(server, checkpoint):
    client = grpcclient.InferenceServerClient(server.grpc_url)
    embedder = Embedder(load_checkpoint(checkpoint))
    attributes = list(range(FASHIONAI_ATTRIBUTES))
    for size in ((512, 680), (300, 200)):
        image = garment_image(*size)
        got = infer(client, [encode(image, "JPEG")], [attributes])
        want = embedder.embed_image(decode_image(encode(image, "JPEG")), attributes)
        assert got[EMBEDDING].shape == (1, FASHIONAI_ATTRIBUTES, 2048)
        assert got[ATTENTION].shape == (1, FASHIONAI_ATTRIBUTES, 14, 14)
        assert cosine(got[EMBEDDING][0], want.fused).min() >= 0.9999
        np.testing.assert_array_equal(got[ROI][0], want.roi)
