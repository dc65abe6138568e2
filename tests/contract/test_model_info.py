"""The served model's description: written as Triton parameters, read back by every reader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from asen_contract.errors import InvalidInput
from asen_contract.images import ImageLimits
from asen_contract.model_info import AttributeSpec, ModelInfo

INFO = ModelInfo(
    model_version="ckpt-abc-cpu-1234",
    attributes=(AttributeSpec(0, "collar", 2, ("round", "v")), AttributeSpec(1, "sleeve", 3, ())),
    beta=0.6,
    global_dim=16,
    embedding_dim=32,
    max_image_pixels=1_000_000,
    max_batch_size=8,
    max_aspect_ratio=12.5,
    global_size=96,
    local_size=48,
    threshold=0.35,
)


def as_triton_returns_it(info: ModelInfo) -> dict:
    """What tritonclient's get_model_config(as_json=True) gives for a config with these values."""
    parameters = {k: {"string_value": v} for k, v in info.to_triton_parameters().items()}
    return {"config": {"name": "asen", "max_batch_size": 8, "parameters": parameters}}


def test_round_trip_through_triton_parameters() -> None:
    parameters = INFO.to_triton_parameters()
    assert all(isinstance(v, str) for v in parameters.values())
    assert "max_batch_size" not in parameters  # a config field, not a parameter
    assert json.loads(parameters["attributes"])[0] == {
        "name": "collar",
        "num_values": 2,
        "value_names": ["round", "v"],
    }
    assert ModelInfo.from_triton_config(as_triton_returns_it(INFO)) == INFO
    python_backend_args = json.dumps(as_triton_returns_it(INFO)["config"])  # args["model_config"]
    assert ModelInfo.from_triton_config(python_backend_args) == INFO


def test_missing_parameters_are_named() -> None:
    config = as_triton_returns_it(INFO)
    del config["config"]["parameters"]["max_aspect_ratio"]
    with pytest.raises(ValueError, match="max_aspect_ratio.*re-export"):
        ModelInfo.from_triton_config(config)
    with pytest.raises(ValueError, match="ASEN parameters"):
        ModelInfo.from_triton_config({"config": {"parameters": {}}})


def test_attributes_by_name_and_by_id() -> None:
    assert INFO.attribute_ids == {"collar": 0, "sleeve": 1}
    assert [a.name for a in INFO.resolve_attributes([])] == ["collar", "sleeve"]
    assert [a.id for a in INFO.resolve_attributes(["sleeve", "sleeve"])] == [1]
    with pytest.raises(ValueError, match="'pocket'"):
        INFO.resolve_attributes(["pocket"])
    INFO.check_attribute_ids(np.array([[0, 1], [1, 1]], dtype=np.int32))
    with pytest.raises(InvalidInput, match="attribute id 2 is out of range"):
        INFO.check_attribute_ids(np.array([[0, 2]]))
    with pytest.raises(InvalidInput, match="attribute id -1 is out of range"):
        INFO.check_attribute_ids(np.array([[-1]]))
    with pytest.raises(InvalidInput, match="at least one"):
        INFO.check_attribute_ids(np.zeros((1, 0), dtype=np.int32))


def test_image_limits_are_part_of_the_description() -> None:
    assert INFO.image_limits == ImageLimits(1_000_000, 12.5)
    unset = ModelInfo("v", (), 0.6, 2, 4, 0, 8)
    assert unset.image_limits == ImageLimits()
