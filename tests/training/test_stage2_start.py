"""Stage 2 starts from a stage-1 (or full ASEN++) checkpoint's global branch, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from asen.checkpoint import AttributeSpec, save_checkpoint
from asen.model.network import ASEN
from asen.training.asen_stages import model_config, stage2_model
from asen_contract.errors import CheckpointError

from ..factories import tiny_settings

SPECS = [AttributeSpec("a", 3), AttributeSpec("b", 4)]


@pytest.mark.parametrize("with_local", [False, True])
def test_global_branch_is_copied(tmp_path: Path, with_local: bool) -> None:
    settings = tiny_settings(tmp_path, tmp_path)
    torch.manual_seed(1)
    source = ASEN(model_config(settings, 2, with_local=with_local))
    save_checkpoint(tmp_path / "s1.pt", source, SPECS)
    torch.manual_seed(2)
    model = stage2_model(settings, 2, tmp_path / "s1.pt")
    state, start = model.state_dict(), source.state_dict()
    for key, value in start.items():
        if key.startswith("choices.global."):
            assert torch.equal(state[key], value), key
    local_key = "choices.local.basenet.conv1.weight"
    if with_local:  # the local branch is trained anew in stage 2, never copied
        assert not torch.equal(state[local_key], start[local_key])


def test_another_global_architecture_is_refused(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path, tmp_path)
    other = tiny_settings(tmp_path, tmp_path, embed_size=8)
    save_checkpoint(tmp_path / "s1.pt", ASEN(model_config(other, 2, False)), SPECS)
    with pytest.raises(CheckpointError, match="another global architecture"):
        stage2_model(settings, 2, tmp_path / "s1.pt")
