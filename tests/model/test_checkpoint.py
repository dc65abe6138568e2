"""Checkpoints: round trip, strict loading, clear errors."""

from __future__ import annotations

import pytest
import torch

from asen.checkpoint import AttributeSpec, load_checkpoint, load_state_strict, save_checkpoint
from asen.model.factory import build_model
from asen_contract.errors import CheckpointError

from ..factories import tiny_config

SMALL = tiny_config(2, embed_size=16, attribute_embed_size=8, global_common_size=8)
ATTRIBUTES = [AttributeSpec("collar", 3, ["a", "b", "c"]), AttributeSpec("hem", 2)]


def test_round_trip_keeps_weights_config_and_attributes(tmp_path) -> None:
    model = build_model(SMALL)
    sha = save_checkpoint(tmp_path / "m.pt", model, ATTRIBUTES, dataset="synthetic")
    loaded = load_checkpoint(tmp_path / "m.pt")
    assert loaded.sha256 == sha
    assert loaded.config == SMALL
    assert loaded.attributes == ATTRIBUTES
    assert loaded.model_version == f"ckpt-{sha[:12]}"
    assert loaded.attribute_index("hem") == 1
    for key, value in model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[key]), key


def test_unknown_attribute_lists_known_ones(tmp_path) -> None:
    save_checkpoint(tmp_path / "m.pt", build_model(SMALL), ATTRIBUTES)
    with pytest.raises(CheckpointError, match="collar, hem"):
        load_checkpoint(tmp_path / "m.pt").attribute_index("sleeve")


def test_strict_loading_names_missing_unexpected_and_misshaped() -> None:
    model = build_model(SMALL)
    state = dict(model.state_dict())
    state.pop("choices.global.attnnet.fc2.bias")
    state["choices.global.attnnet.extra"] = torch.zeros(1)
    state["choices.local.attnnet.feature_fc.weight"] = torch.zeros(3, 3)
    with pytest.raises(CheckpointError) as error:
        load_state_strict(build_model(SMALL), state, "test")
    message = str(error.value)
    assert "fc2.bias" in message and "extra" in message and "feature_fc.weight (3, 3)" in message


def test_not_a_checkpoint_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"model": {}}, tmp_path / "official.pth.tar")
    with pytest.raises(CheckpointError, match="import-official"):
        load_checkpoint(tmp_path / "official.pth.tar")
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
