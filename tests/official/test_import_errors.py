"""Anything but a complete, well-shaped official checkpoint for the named data set is refused
with a message that says what is wrong; nothing is written."""

import json
import pickle

import pytest
import torch

from asen.cli.main import main
from asen.official import import_official
from asen_contract.errors import CheckpointError

from .official_weights import SMALL, official_state_dict


@pytest.fixture()
def state():
    return official_state_dict(8, "tiny", "tiny", **SMALL)


def _run(tmp_path, payload, dataset="fashionai"):
    source = tmp_path / "checkpoint.pth.tar"
    torch.save(payload, source)
    out = tmp_path / "out.pt"
    with pytest.raises(CheckpointError) as caught:
        import_official(source, dataset, out)
    assert not out.exists()
    return str(caught.value)


def test_missing_parameter(tmp_path, state):
    del state["choices.local.basenet.layer2.0.bn1.running_var"]
    message = _run(tmp_path, {"model": state})
    assert "missing" in message and "layer2.0.bn1.running_var" in message


def test_unexpected_parameter(tmp_path, state):
    state["choices.global.attnnet.extra_fc.weight"] = torch.zeros(3, 3)
    message = _run(tmp_path, {"model": state})
    assert "unexpected" in message and "extra_fc.weight" in message


def test_wrong_shape(tmp_path, state):
    state["choices.global.attnnet.fc2.bias"] = torch.zeros(63)
    message = _run(tmp_path, {"model": state})
    assert "wrong shape" in message and "fc2.bias" in message


def test_wrong_attribute_count_for_the_data_set(tmp_path, state):
    message = _run(tmp_path, {"model": state}, dataset="darn")
    assert "8 rows" in message and "DARN has 9 attributes" in message


def test_unsupported_backbone(tmp_path, state):
    for key in [k for k in state if k.startswith("choices.global.basenet.layer3.")]:
        del state[key]
    message = _run(tmp_path, {"model": state})
    assert "global backbone" in message and "none of the supported" in message


def test_different_attribute_tables_in_the_branches(tmp_path, state):
    state["choices.local.attrnet.attr_embedding.weight"] = torch.zeros(8, 16)
    assert "differ" in _run(tmp_path, {"model": state})


def test_not_a_checkpoint(tmp_path):
    source = tmp_path / "garbage.pth.tar"
    source.write_bytes(b"this is not a torch file")
    with pytest.raises(CheckpointError, match="cannot read official checkpoint"):
        import_official(source, "fashionai", tmp_path / "out.pt")


class _RunsCode:
    def __reduce__(self):
        return (print, ("code ran while loading",))


def test_code_in_the_file_is_never_run(tmp_path, state, capsys):
    source = tmp_path / "evil.pth.tar"
    torch.save({"model": state, "hook": _RunsCode()}, source, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="weights_only"):
        import_official(source, "fashionai", tmp_path / "out.pt")
    assert "code ran" not in capsys.readouterr().out


def test_cli_reports_errors_and_json_summary(tmp_path, state, capsys):
    source = tmp_path / "checkpoint.pth.tar"
    torch.save({"model": state, "epoch": 3, "mAP": 0.5}, source)
    out = tmp_path / "model.pt"
    args = ["import-official", str(source), "--out", str(out), "--global-size", "96"]
    assert main([*args, "--dataset", "deepfashion"]) == 2
    assert "DeepFashion has 5 attributes" in capsys.readouterr().err
    assert main([*args, "--dataset", "fashionai", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dataset"] == "FashionAI" and summary["official"] == {"epoch": 3, "mAP": 0.5}
    assert summary["config"]["global_size"] == 96 and summary["model_version"].startswith("ckpt-")
    assert out.is_file()


def test_checkpoint_without_batch_counters_imports(tmp_path, state):
    """PyTorch < 0.4.1 saved no BatchNorm num_batches_tracked; those alone may be absent."""
    source = tmp_path / "old.pth.tar"
    torch.save({k: v for k, v in state.items() if "num_batches_tracked" not in k}, source)
    summary = import_official(source, "fashionai", tmp_path / "out.pt")
    assert summary.config.has_local and (tmp_path / "out.pt").is_file()


def test_an_ablation_checkpoint_imports_with_its_own_attention_per_branch(tmp_path, state):
    """The official config switches ASA/ACA per branch; such a model imports as it is."""
    for part in ("conv", "attr_transform1"):  # no spatial attention in the local branch
        for kind in ("weight", "bias"):
            del state[f"choices.local.attnnet.{part}.{kind}"]
    source = tmp_path / "ablation.pth.tar"
    torch.save({"model": {f"module.{k}": v for k, v in state.items()}}, source)
    summary = import_official(source, "fashionai", tmp_path / "out.pt")
    config = summary.config
    assert config.global_spatial_attention and not config.local_spatial_attention
    assert config.global_channel_attention and config.local_channel_attention
    assert config.global_reduction_rate == config.local_reduction_rate == SMALL["reduction"]
