"""Flags generated from the settings dataclasses: one default, one help text, one limit each."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import pytest

from asen.cli.settings_flags import add_settings_flags, settings_from_args, settings_to_flags
from asen.data.synth import SynthSettings
from asen.demo.settings import DemoSettings
from asen.model.config import Architecture
from asen.training.settings import STAGE2, TrainSettings
from asen_contract.errors import ConfigError


def _parser(cls: type) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="test", exit_on_error=False)
    add_settings_flags(parser, cls)
    return parser


def test_flags_written_for_a_value_parse_back_into_it() -> None:
    demo = DemoSettings().training()
    changed = replace(demo, stage2=replace(demo.stage2, gamma=0.5), amp=True, progress=False)
    for value in (demo, changed):
        args = _parser(TrainSettings).parse_args(settings_to_flags(value))
        assert settings_from_args(args, TrainSettings) == value
    synth = SynthSettings(train=100, image_size=64, workers=2)
    args = _parser(SynthSettings).parse_args(settings_to_flags(synth))
    assert settings_from_args(args, SynthSettings) == synth


def test_defaults_come_from_the_dataclasses(tmp_path: Path) -> None:
    args = _parser(TrainSettings).parse_args(["--data", "d", "--out", "o", "--from-scratch"])
    settings = settings_from_args(args, TrainSettings)
    assert settings.model == Architecture()
    assert settings.stage2 == STAGE2
    assert settings.loss.margin == 0.2 and settings.batch_size == 16
    assert settings_to_flags(settings) == ["--data", "d", "--out", "o", "--from-scratch"]


def test_help_shows_each_default_and_limits_are_checked_at_parse_time(capsys) -> None:
    parser = _parser(TrainSettings)
    text = parser.format_help()
    for expected in (
        "--stage2-global-lr FLOAT",
        "(default: 1e-05)",
        "--no-local-channel-attention",
        "resnet50-19c8e357.pth",
        "(default: off)",
    ):
        assert expected in text, expected
    with pytest.raises(argparse.ArgumentError, match="must be at least 1, got 0"):
        parser.parse_args(["--data", "d", "--out", "o", "--stage1-epochs", "0"])
    with pytest.raises(argparse.ArgumentError, match="not a valid float"):
        parser.parse_args(["--data", "d", "--out", "o", "--margin", "wide"])


def test_the_library_checks_the_same_limits_and_names_fields_not_flags() -> None:
    with pytest.raises(ConfigError, match="^epochs must be at least 1, got 0$"):
        replace(STAGE2, epochs=0)
    with pytest.raises(ConfigError, match="^global_backbone must be one of"):
        Architecture(global_backbone="vgg")
    with pytest.raises(ConfigError, match="^train must be at least 12, got 3$"):
        SynthSettings(train=3)
