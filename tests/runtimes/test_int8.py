"""INT8 calibration on synthetic images: quantized graphs both runtimes run, near float32."""

from __future__ import annotations

import pytest

from asen.runtimes.int8 import INT8_GRAPHS, calibration_feeds
from asen.runtimes.pipeline import GRAPHS
from asen.runtimes.sessions import RUNTIMES, open_session
from asen_contract.errors import AsenError
from asen_contract.images import read_image_file

from . import openvino_jobs


@pytest.fixture(scope="module")
def round_trip(graphs, synthetic_images, openvino_pool, tmp_path_factory) -> dict:
    config, paths = graphs
    job = (
        paths,
        config.to_dict(),
        synthetic_images["train"],
        synthetic_images["test"][:6],
        tmp_path_factory.mktemp("int8"),
    )
    return openvino_pool.apply(openvino_jobs.int8_round_trip, job)


def test_every_attribute_and_image_calibrates(round_trip, graphs, synthetic_images):
    config, _ = graphs
    assert round_trip["samples"]["global_backbone"] == len(synthetic_images["train"])
    assert round_trip["calibrated_ids"] == list(range(config.num_attributes))


def test_int8_graphs_hold_quantized_convolutions(round_trip):
    for name in INT8_GRAPHS:
        ops = round_trip["ops"][name]
        assert ops.count("QuantizeLinear") >= 5, name
        assert "Conv" in ops


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_int8_pipeline_stays_close_to_float32(round_trip, runtime):
    agreement = round_trip["agreement"][runtime]
    assert agreement["mean_cosine"] > 0.98, agreement
    assert agreement["roi_identical"] >= 0.5, agreement


def test_calibration_needs_enough_images(graphs, synthetic_images):
    config, paths = graphs
    fp32 = {g: open_session(paths[g], "onnxruntime", 1) for g in GRAPHS}
    images = [read_image_file(p) for p in synthetic_images["train"][:3]]
    with pytest.raises(AsenError, match="at least 8 images"):
        calibration_feeds(fp32, config, images)
