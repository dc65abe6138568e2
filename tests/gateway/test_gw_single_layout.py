"""End to end against the single-model layout: client -> `python -m gateway` -> real tritonserver
serving `asen export --cpu-layout single` (one Python model `asen` with the ensemble's tensors and
parameters). The gateway and its discovery are unchanged: they must find the same model version
as the ensemble's export of the same checkpoint (the layout is not part of it: both may serve one
fleet behind one cache), and Embed, Compare and a bad image in a stream (refused by the model,
not by the gateway) must give what the in-process embedder gives, as they do against the
ensemble (test_gw_integration.py)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from asen.checkpoint import load_checkpoint
from asen.client import AsenClient
from asen.client.results import StreamError
from asen.export.repository import MANIFEST, export_repository
from asen.export.settings import ExportSettings
from asen.inference import Embedder
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.tensors import ENSEMBLE

from .gw_support import GatewayProcess, image_bytes


@pytest.fixture(scope="module")
def single_repository(exported_model, tmp_path_factory):
    repository = tmp_path_factory.mktemp("single-layout") / "repository"
    settings = ExportSettings(target="cpu", max_batch=8, cpu_layout="single")
    export_repository(load_checkpoint(exported_model.checkpoint), repository, settings)
    assert sorted(p.name for p in repository.iterdir() if p.is_dir()) == [ENSEMBLE]
    return repository


@pytest.fixture(scope="module")
def client(single_repository, tmp_path_factory):
    logs = tmp_path_factory.mktemp("single-layout-logs")
    grpc_port, metrics = free_ports(2)
    triton = TritonServer(single_repository, None, grpc_port, metrics, log_path=logs / "triton.log")
    triton.start(timeout=300)
    gateway = GatewayProcess({"ASEN_TRITON_URLS": triton.grpc_url}, logs / "gateway.log")
    try:
        gateway.start()
        client = AsenClient(gateway.address, timeout=60)
        yield client
        client.close()
    finally:
        gateway.stop()
        triton.stop()


@pytest.fixture(scope="module")
def reference(exported_model):
    embedder = Embedder(load_checkpoint(exported_model.checkpoint))
    names = list(exported_model.attributes)

    def embed(data: bytes, attribute: str):
        image = Image.open(io.BytesIO(data)).convert("RGB")
        result = embedder.embed_image(image, [names.index(attribute)])
        return result.fused[0], result.roi[0]

    return embed


def test_discovery_finds_the_ensembles_model_version(client, exported_model) -> None:
    result = client.list_attributes()
    assert [a.name for a in result.attributes] == list(exported_model.attributes)
    manifest = json.loads((exported_model.repository / ENSEMBLE / "1" / MANIFEST).read_text())
    assert result.model_version == manifest["model_version"]


def test_embed_and_compare_match_the_in_process_reference(client, reference) -> None:
    a = image_bytes(501, size=(90, 70), fmt="JPEG")
    b = image_bytes(502, size=(64, 96), fmt="PNG")
    embedded = client.embed(a, ["collar_design", "lapel_design"], include_attention=True)
    assert set(embedded.embeddings) == {"collar_design", "lapel_design"}
    for name, result in embedded.embeddings.items():
        expected, roi = reference(a, name)
        np.testing.assert_allclose(result.vector, expected, atol=2e-3)
        np.testing.assert_allclose(result.roi, roi, atol=1.0)
        assert result.attention is not None and result.attention.ndim == 2
    compared = client.compare(a, b)
    assert set(compared.scores) == {"collar_design", "sleeve_length", "lapel_design"}
    for name, score in compared.scores.items():
        expected = float(reference(a, name)[0] @ reference(b, name)[0])
        assert score.similarity == pytest.approx(expected, abs=2e-3)


def test_a_bad_image_in_a_stream_is_invalid_argument_and_the_others_are_embedded(
    client, reference
) -> None:
    images = [image_bytes(510 + seed, size=(70, 80), fmt="JPEG") for seed in range(3)]
    truncated = image_bytes(7, size=(300, 300), fmt="PNG")
    images.insert(1, truncated[: len(truncated) * 2 // 3])  # passes the gateway's header check
    items = list(client.embed_stream(images, ["sleeve_length"]))
    assert len(items) == 4
    assert isinstance(items[1], StreamError) and items[1].index == 1
    assert items[1].code == "INVALID_ARGUMENT" and "cannot decode image" in items[1].message
    for position in (0, 2, 3):
        vector = items[position].embeddings["sleeve_length"].vector
        np.testing.assert_allclose(
            vector, reference(images[position], "sleeve_length")[0], atol=2e-3
        )
