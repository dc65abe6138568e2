"""End-to-end runs on a tiny data set: checkpoints, the final model, resume, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from asen.checkpoint import load_checkpoint
from asen.cli.main import main
from asen.training.pipeline import train
from asen.training.precision import Precision
from asen.training.settings import TrainSettings
from asen.training.state import load_training_state
from asen_contract.errors import ConfigError

from ..factories import TINY_STAGE1, tiny_settings


def test_two_stages_write_checkpoints_and_the_final_model(tiny_data: Path, tmp_path: Path):
    out = tmp_path / "run"
    summary = train(tiny_settings(tiny_data, out, max_steps=2))
    for stage in ("stage1", "stage2"):
        assert (out / stage / "last.pt").is_file()
        assert (out / stage / "best.pt").is_file()
    stage1 = load_checkpoint(out / "stage1" / "best.pt")
    assert not stage1.config.has_local
    final = load_checkpoint(out / "model.pt")
    assert final.config.has_local and final.config.threshold == 0.1
    assert final.extra["stage"] == "stage2"
    assert [a.name for a in final.attributes][0] == "neckline_shape"
    # Stage 2 started from the stage-1 global branch (lr 1e-4 / 2 steps moves it only a little).
    start = stage1.model.state_dict()["choices.global.attnnet.feature_fc.weight"]
    later = final.model.state_dict()["choices.global.attnnet.feature_fc.weight"]
    assert torch.allclose(start, later, atol=5e-3)
    assert summary["best_stage"] == "stage2"
    epoch = summary["stages"]["stage2"]["epochs"][0]
    assert epoch["triplets"] == 8 and 0 < epoch["roi_share"] < 1
    assert set(epoch["losses"]) == {"loss", "global", "local", "align"}
    assert (out / "train.log").read_text().count("}, valid MAP") == 2  # one line per epoch


def test_resume_continues_exactly_like_an_uninterrupted_run(tiny_data: Path, tmp_path: Path):
    whole = tiny_settings(
        tiny_data, tmp_path / "whole", stage="1", stage1=replace(TINY_STAGE1, epochs=2)
    )
    train(whole)
    first = tiny_settings(tiny_data, tmp_path / "parts", stage="1")
    train(first)
    saved = load_training_state(tmp_path / "parts" / "stage1" / "last.pt")
    assert saved.epoch == 1
    second = tiny_settings(
        tiny_data, tmp_path / "parts", stage="1", stage1=replace(TINY_STAGE1, epochs=2), resume=True
    )
    train(second)
    a = load_training_state(tmp_path / "whole" / "stage1" / "last.pt")
    b = load_training_state(tmp_path / "parts" / "stage1" / "last.pt")
    assert a.epoch == b.epoch == 2
    assert a.scheduler == b.scheduler
    for key, value in a.model.items():
        assert torch.equal(value, b.model[key]), key
    for index, state in a.optimizer["state"].items():
        assert torch.equal(state["exp_avg"], b.optimizer["state"][index]["exp_avg"])
        assert state["step"] == b.optimizer["state"][index]["step"]
    assert [e["valid_map"] for e in a.history] == [e["valid_map"] for e in b.history]


def test_resume_refuses_changed_settings(tiny_data: Path, tmp_path: Path):
    train(tiny_settings(tiny_data, tmp_path, stage="1"))
    changed = tiny_settings(tiny_data, tmp_path, stage="1", batch_size=2, resume=True)
    with pytest.raises(Exception, match="batch_size"):
        train(changed)


def test_cli_baseline_is_an_attribute_blind_asen_model(tiny_data: Path, tmp_path: Path, capsys):
    args = [
        "train", "--data", str(tiny_data), "--out", str(tmp_path / "b"), "--baseline",
        "--global-backbone", "tiny", "--local-backbone", "tiny", "--embed-size", "16",
        "--global-size", "64", "--local-size", "32", "--triplets-per-epoch", "4",
        "--batch-size", "4", "--stage1-epochs", "1", "--no-progress", "--json",
    ]  # fmt: skip
    assert main(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["best_stage"] == "baseline" and summary["precision"] == "float32"
    assert 0.0 <= summary["best_valid_map"] <= 1.0
    baseline = load_checkpoint(tmp_path / "b" / "model.pt")
    config = baseline.config
    assert not config.has_local and not config.uses_attributes
    assert baseline.extra["initialisation"] == {"global": {"source": "scratch"}}
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        first = baseline.model(images, torch.tensor([0, 0]))[0]
        other = baseline.model(images, torch.tensor([3, 5]))[0]
    assert torch.equal(first, other)  # one embedding whatever the attribute


def test_cli_errors_are_clean(tiny_data: Path, tmp_path: Path, capsys):
    tiny = ["--global-backbone", "tiny", "--local-backbone", "tiny", "--no-progress"]
    args = ["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path), *tiny]
    assert main(args) == 2
    assert "is not a directory" in capsys.readouterr().err
    args = ["train", "--data", str(tiny_data), "--out", str(tmp_path / "r"), "--stage", "2"]
    assert main([*args, *tiny]) == 2
    assert "run stage 1 first" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*args, *tiny, "--batch-size", "0"])
    assert "argument --batch-size: must be at least 1, got 0" in capsys.readouterr().err


def test_resnet_backbones_need_imagenet_weights_or_from_scratch(tiny_data: Path, tmp_path):
    with pytest.raises(ConfigError, match=r"global backbone \(resnet50\).*resnet50-19c8e357"):
        TrainSettings(data=tiny_data, out=tmp_path)
    with pytest.raises(ConfigError, match=r"local backbone \(resnet34\).*resnet34-333f7ec4"):
        TrainSettings(data=tiny_data, out=tmp_path, stage="2")
    assert TrainSettings(data=tiny_data, out=tmp_path, from_scratch=True).from_scratch
    with pytest.raises(ConfigError, match="does not exist"):
        TrainSettings(data=tiny_data, out=tmp_path, backbone_weights_global=tmp_path / "x.pth")
    with pytest.raises(ConfigError, match="the tiny backbone has no ImageNet weights"):
        tiny_settings(tiny_data, tmp_path, backbone_weights_global=tiny_data / "label_train.txt")


def test_amp_on_cpu_is_bf16_autocast_without_a_scaler(tiny_data: Path, tmp_path: Path):
    precision = Precision(torch.device("cpu"), enabled=True)
    assert precision.dtype == torch.bfloat16 and not precision.scaler.is_enabled()
    summary = train(tiny_settings(tiny_data, tmp_path, stage="1", amp=True, max_steps=1))
    assert summary["stages"]["stage1"]["epochs"][0]["triplets"] == 4
