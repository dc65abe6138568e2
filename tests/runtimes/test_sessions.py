"""OpenVINO and onnxruntime run the same exported graphs with float32 parity."""

from __future__ import annotations

import pytest

from asen.runtimes.sessions import RUNTIMES, open_session
from asen_contract.errors import ConfigError

from . import openvino_jobs


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_session_names_and_shapes(graphs, openvino_pool, runtime):
    _, paths = graphs
    got = openvino_pool.apply(openvino_jobs.head_signature, (paths["global_head"], runtime))
    assert got["inputs"] == ["FEATURES", "ATTRIBUTE"]
    assert got["outputs"] == ["GLOBAL_EMBEDDING", "ATTENTION"]
    assert [shape[:2] for shape in got["shapes"]] == [[3, 5], [3, 5]]


def test_openvino_float32_pipeline_has_parity_with_onnxruntime(
    graphs, synthetic_images, openvino_pool
):
    config, paths = graphs
    images = synthetic_images["test"][:6]
    got = openvino_pool.apply(openvino_jobs.float32_parity, (paths, config.to_dict(), images))
    assert got["pairs"] == 6 * config.num_attributes
    assert got["parity"], got
    assert got["min_cosine"] >= 0.9999 and got["roi_identical"] == 1.0
    assert got["distinct_boxes"] > 1  # the boxes compared are not all alike


def test_openvino_outputs_are_not_overwritten_by_the_next_call(graphs, openvino_pool):
    _, paths = graphs
    path = paths["global_backbone"]
    assert openvino_pool.apply(openvino_jobs.outputs_survive_the_next_call, (path,))


def test_unknown_runtime_is_a_clear_error(graphs):
    _, paths = graphs
    with pytest.raises(ConfigError, match="unknown runtime 'tensorflow'"):
        open_session(paths["global_head"], "tensorflow")
