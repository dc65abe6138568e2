from __future__ import annotations

import json
from pathlib import Path

import pytest

from asen.data import (
    DatasetSpec,
    get_dataset_spec,
    load_dataset_spec,
    read_spec_file,
    write_spec_file,
)
from asen_contract.errors import DataFormatError


def test_builtin_specs_match_the_official_attribute_tables() -> None:
    fashionai = get_dataset_spec("FashionAI")
    assert fashionai.attributes[0] == "skirt_length"
    assert fashionai.num_values == (6, 9, 8, 6, 5, 5, 10, 5)
    darn = get_dataset_spec("darn")
    assert darn.num_attributes == 9
    assert darn.attributes[0] == "clothes category"  # exactly as config/DARN/DARN.yaml
    assert dict(zip(darn.attributes, darn.num_values, strict=True))["clothes color"] == 55
    deepfashion = get_dataset_spec("DEEPFASHION")
    assert deepfashion.attributes == (
        "texture-related",
        "fabric-related",
        "shape-related",
        "part-related",
        "style-related",
    )
    assert deepfashion.num_values == (156, 218, 180, 216, 230)


def test_former_spellings_are_aliases_of_the_official_names() -> None:
    darn = get_dataset_spec("darn")
    assert darn.attribute_id("clothes_color") == darn.attribute_id("Clothes Color") == 2
    deepfashion = get_dataset_spec("deepfashion")
    assert deepfashion.attribute_id("texture") == deepfashion.attribute_id("texture_related") == 0
    assert deepfashion.attribute_id("style") == 4
    with pytest.raises(ValueError, match="both answer to"):
        DatasetSpec("x", ("sleeve length", "sleeve_length"), (2, 2))


def test_unknown_dataset_lists_the_choices() -> None:
    with pytest.raises(DataFormatError, match="FashionAI, DARN, DeepFashion"):
        get_dataset_spec("polyvore")


def test_attribute_lookup_by_name_or_id() -> None:
    spec = get_dataset_spec("fashionai")
    assert spec.attribute_id("Collar_Design") == 4
    assert spec.attribute_id("4") == 4
    with pytest.raises(DataFormatError, match="skirt_length"):
        spec.attribute_id("hat")


def test_spec_file_round_trip(tmp_path: Path) -> None:
    spec = DatasetSpec("mine", ("a", "b"), (2, 3), (("x", "y"), ("p", "q", "r")))
    write_spec_file(tmp_path, spec)
    assert read_spec_file(tmp_path / "attributes.json") == spec
    assert load_dataset_spec(tmp_path) == spec
    assert load_dataset_spec(tmp_path, "MINE") == spec  # the file wins when the names agree
    assert load_dataset_spec(tmp_path, "darn") == get_dataset_spec("darn")


def test_value_names_are_optional(tmp_path: Path) -> None:
    path = tmp_path / "attributes.json"
    path.write_text(json.dumps({"name": "n", "attributes": [{"name": "a", "num_values": 4}]}))
    spec = read_spec_file(path)
    assert spec.num_values == (4,) and spec.value_names is None
    assert spec.value_name(0, 3) == "3"


@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        json.dumps({"attributes": "a"}),
        json.dumps({"attributes": [{"name": "a", "num_values": "3"}]}),
        json.dumps({"attributes": [{"name": "a", "num_values": 3, "values": ["x"]}]}),
        json.dumps({"attributes": [{"name": "a", "num_values": 1}]}),
    ],
)
def test_malformed_spec_file_names_the_file(tmp_path: Path, document: str) -> None:
    path = tmp_path / "attributes.json"
    path.write_text(document)
    with pytest.raises(DataFormatError, match="attributes.json"):
        read_spec_file(path)


def test_missing_spec_file_suggests_a_builtin(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="FashionAI"):
        load_dataset_spec(tmp_path)
