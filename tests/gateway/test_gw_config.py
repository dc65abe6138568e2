"""Configuration: flags over environment over defaults; validation; secrets masked."""

from __future__ import annotations

import argparse

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
