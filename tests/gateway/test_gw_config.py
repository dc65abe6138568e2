"""Configuration: flags over environment over defaults; validation; secrets masked."""

from __future__ import annotations

import argparse
from dataclasses import fields

import pytest

from asen_contract.errors import AsenError
from gateway.config import GatewayConfig


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    GatewayConfig.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_flag_beats_environment_beats_default() -> None:
    env = {"ASEN_GRPC_PORT": "6000", "ASEN_MAX_CANDIDATES": "7", "ASEN_TRITON_URLS": "b:1,a:2"}
    config = GatewayConfig.load(_parse("--grpc-port", "7000"), env)
    assert config.grpc_port == 7000
    assert config.max_candidates == 7
    assert config.metrics_port == 9095
    assert config.triton_url_list == ["a:2", "b:1"]


def test_secrets_are_masked() -> None:
    env = {"ASEN_REDIS_URL": "redis://user:hunter2@redis:6379/0", "ASEN_REDIS_PASSWORD": "pw"}
    shown = str(GatewayConfig.load(None, env).masked())
    assert "hunter2" not in shown and "'pw'" not in shown
    assert "redis://user:***@redis:6379/0" in shown


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"ASEN_GRPC_PORT": "abc"}, "ASEN_GRPC_PORT"),
        ({"ASEN_TLS_CERT": "/nonexistent.pem"}, "TLS needs both"),
        ({"ASEN_DISCOVERY": "dns"}, "discovery"),
        ({"ASEN_MAX_IN_FLIGHT": "0"}, "max_in_flight"),
        ({"ASEN_API_KEYS_FILE": "/nonexistent"}, "no such file"),
    ],
)
def test_bad_values_are_clear_errors(env: dict[str, str], needle: str) -> None:
    with pytest.raises(AsenError, match=needle):
        GatewayConfig.load(None, env)


@pytest.mark.parametrize(
    "setting", [f for f in fields(GatewayConfig) if f.metadata["choices"]], ids=lambda f: f.name
)
def test_a_variable_outside_its_choices_is_refused(setting) -> None:
    """argparse checks a flag's choices; a variable's are checked by the loader, for each."""
    env = {setting.metadata["env"]: "no-such-choice"}
    with pytest.raises(AsenError, match=f"{setting.name} must be one of .*'no-such-choice'"):
        GatewayConfig.load(None, env)


def _serve_args(*argv: str) -> argparse.Namespace:
    from asen.cli.main import build_parser

    return build_parser().parse_args(["serve", "--repository", "repo", *argv])


def test_asen_serve_reads_the_gateway_table() -> None:
    """Every gateway variable applies under `asen serve` (ASEN_GRPC_PORT and ASEN_METRICS_PORT
    used to be overridden by the command's own defaults)."""
    from asen.cli.serve_cmd import gateway_config

    env = {"ASEN_GRPC_PORT": "6001", "ASEN_METRICS_PORT": "6002", "ASEN_MAX_CANDIDATES": "9"}
    config, triton_port = gateway_config(_serve_args(), env)
    assert (config.grpc_port, config.metrics_port, config.max_candidates) == (6001, 6002, 9)
    assert config.triton_url_list == [f"127.0.0.1:{triton_port}"]
    config, triton_port = gateway_config(
        _serve_args(
            "--grpc-port", "7001", "--redis", "redis://r:1/0", "--triton-grpc-port", "7002"
        ),
        env,
    )
    assert (config.grpc_port, config.redis_url, triton_port) == (7001, "redis://r:1/0", 7002)
    assert config.triton_url_list == ["127.0.0.1:7002"]


@pytest.mark.parametrize(
    "env", [{"ASEN_TRITON_URLS": "10.0.0.1:8001"}, {"ASEN_DISCOVERY": "kubernetes"}]
)
def test_asen_serve_refuses_settings_it_decides_itself(env: dict[str, str]) -> None:
    from asen.cli.serve_cmd import gateway_config

    with pytest.raises(AsenError, match="starts its own tritonserver"):
        gateway_config(_serve_args(), env)


def test_asen_serve_has_every_gateway_flag() -> None:
    from dataclasses import fields

    from asen.cli.main import build_parser

    serve = build_parser()._subparsers._group_actions[0].choices["serve"]
    flags = {option for action in serve._actions for option in action.option_strings}
    assert {"--" + f.name.replace("_", "-") for f in fields(GatewayConfig)} <= flags


def test_every_setting_is_documented() -> None:
    from dataclasses import fields
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "gateway.md").read_text()
    missing = [f.metadata["env"] for f in fields(GatewayConfig) if f.metadata["env"] not in text]
    assert missing == []
