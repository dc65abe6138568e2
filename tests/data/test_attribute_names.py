"""One rule for attribute names wherever they are read: data files, checkpoints (the CLI reads
names through them) and the served model's description (the gateway API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from asen.checkpoint import attribute_specs, load_checkpoint
from asen.data import get_dataset_spec, read_spec_file, write_spec_file
from asen_contract.attribute_names import name_key
from asen_contract.errors import CheckpointError
from asen_contract.model_info import AttributeSpec, ModelInfo

from ..factories import tiny_checkpoint, tiny_config


def test_case_and_separators_do_not_matter() -> None:
    assert name_key("Clothes_Category") == name_key("clothes-category") == "clothes category"
    assert name_key("  texture-related ") == name_key("TEXTURE_RELATED")


def test_attributes_json_carries_aliases(tmp_path: Path) -> None:
    spec = get_dataset_spec("deepfashion")
    read = read_spec_file(write_spec_file(tmp_path, spec))
    assert read.aliases == spec.aliases
    assert read.attribute_id("fabric") == 1


def test_a_checkpoint_answers_to_official_names_and_aliases(tmp_path: Path) -> None:
    specs = attribute_specs(get_dataset_spec("deepfashion"))
    path = tiny_checkpoint(tmp_path / "m.pt", tiny_config(5), specs)
    checkpoint = load_checkpoint(path)
    assert checkpoint.attributes[0].name == "texture-related"
    assert checkpoint.attribute_index("texture") == checkpoint.attribute_index("Texture Related")
    assert checkpoint.attribute_index("style") == 4
    with pytest.raises(CheckpointError, match="texture-related, fabric-related"):
        checkpoint.attribute_index("colour")


def test_the_served_description_resolves_aliases_to_official_names() -> None:
    attributes = tuple(
        AttributeSpec(index, spec.name, spec.num_values, (), tuple(spec.aliases or ()))
        for index, spec in enumerate(attribute_specs(get_dataset_spec("deepfashion")))
    )
    info = ModelInfo("v1", attributes, 0.6, 16, 32, 0, 4)
    again = ModelInfo.from_triton_config(
        {"parameters": {k: {"string_value": v} for k, v in info.to_triton_parameters().items()}}
    )
    assert again.attributes == info.attributes
    resolved = again.resolve_attributes(["texture", "TEXTURE-RELATED", "part_related"])
    assert [spec.name for spec in resolved] == ["texture-related", "part-related"]
    with pytest.raises(ValueError, match="unknown attribute"):
        again.resolve_attributes(["colour"])
