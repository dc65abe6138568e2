"""Checkpoints and the shared torch-file envelope: round trip, strict loading, clear errors."""

from __future__ import annotations

import pytest
import torch

from asen.checkpoint import (
    AttributeSpec,
    load_checkpoint,
    load_strict,
    read_torch_file,
    save_checkpoint,
    save_torch_file,
    under_prefix,
)
from asen.model.network import ASEN
from asen_contract.errors import CheckpointError

from ..factories import tiny_config

SMALL = tiny_config(2, embed_size=16, attribute_embed_size=8, global_common_size=8)
ATTRIBUTES = [AttributeSpec("collar", 3, ["a", "b", "c"]), AttributeSpec("hem", 2)]


def test_round_trip_keeps_weights_config_and_attributes(tmp_path) -> None:
    model = ASEN(SMALL)
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
    save_checkpoint(tmp_path / "m.pt", ASEN(SMALL), ATTRIBUTES)
    with pytest.raises(CheckpointError, match="collar, hem"):
        load_checkpoint(tmp_path / "m.pt").attribute_index("sleeve")


def test_strict_loading_names_missing_unexpected_and_misshaped() -> None:
    model = ASEN(SMALL)
    state = dict(model.state_dict())
    state.pop("choices.global.attnnet.fc2.bias")
    state["choices.global.attnnet.extra"] = torch.zeros(1)
    state["choices.local.attnnet.feature_fc.weight"] = torch.zeros(3, 3)
    with pytest.raises(CheckpointError) as error:
        load_strict(ASEN(SMALL), state, "test")
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


def test_key_map_loads_a_sub_module_and_names_what_it_lacks() -> None:
    source = ASEN(SMALL)
    target = ASEN(SMALL)
    load_strict(
        target.choices["global"], source.state_dict(), "s1", under_prefix("choices.global.")
    )
    key = "choices.global.attnnet.feature_fc.weight"
    assert torch.equal(target.state_dict()[key], source.state_dict()[key])
    global_only = ASEN(tiny_config(2, local=False, embed_size=16, attribute_embed_size=8))
    with pytest.raises(CheckpointError, match="missing"):
        load_strict(target.choices["local"], global_only.state_dict(), "s1", under_prefix("x."))


def test_torch_file_envelope_refuses_other_kinds_and_versions(tmp_path) -> None:
    path = tmp_path / "thing.pt"
    sha = save_torch_file(path, "asen-thing", 2, {"value": torch.ones(2)})
    stored = read_torch_file(path, "asen-thing", {1, 2}, "thing file")
    assert stored.version == 2 and stored.sha256 == sha
    assert torch.equal(stored.payload["value"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["thing.pt"]  # no temporary left
    with pytest.raises(CheckpointError, match="format version 2 is not supported"):
        read_torch_file(path, "asen-thing", {1}, "thing file")
    with pytest.raises(CheckpointError, match="is not an other file"):
        read_torch_file(path, "asen-other", {2}, "other file")
    torch.save({"format": "asen-old"}, tmp_path / "old.pt")
    assert read_torch_file(tmp_path / "old.pt", "asen-old", {1}, "x", unversioned=1).version == 1


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch) -> None:
    path = tmp_path / "m.pt"
    save_checkpoint(path, ASEN(SMALL), ATTRIBUTES)
    before = path.read_bytes()

    def broken_fsync(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("asen.checkpoint.torch_file.os.fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, ASEN(SMALL), ATTRIBUTES)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
