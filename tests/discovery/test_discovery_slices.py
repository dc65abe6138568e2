"""Readiness and port rules applied to one EndpointSlice (pure functions, no server)."""

from __future__ import annotations

import pytest
from kubernetes.client import V1EndpointConditions, V1EndpointSlice

from gateway.discovery.backoff import Backoff
from gateway.discovery.slices import is_ready, ready_endpoints

from .apiserver_standin import make_slice


@pytest.mark.parametrize(
    ("conditions", "ready"),
    [
        (None, True),
        ({}, True),
        ({"ready": True}, True),
        ({"ready": False}, False),
        ({"ready": False, "serving": True}, False),
        ({"ready": True, "terminating": True}, False),
        ({"serving": True, "terminating": True}, False),
        ({"terminating": False}, True),
    ],
)
def test_readiness_follows_kubernetes_semantics(conditions: dict | None, ready: bool) -> None:
    parsed = None if conditions is None else V1EndpointConditions.from_dict(conditions)
    assert is_ready(parsed) is ready


def test_ipv6_slice_addresses_are_bracketed() -> None:
    manifest = make_slice("v6", "triton", [{"ip": "fd00::7"}], port=8001)
    manifest["addressType"] = "IPv6"
    assert ready_endpoints(V1EndpointSlice.from_dict(manifest), 9999) == {"[fd00::7]:8001"}


def test_slice_without_endpoints_has_none() -> None:
    manifest = make_slice("empty", "triton", [])
    manifest["endpoints"] = None
    assert ready_endpoints(V1EndpointSlice.from_dict(manifest), 8001) == set()


def test_backoff_grows_to_the_cap_and_resets() -> None:
    backoff = Backoff(initial_s=1.0, max_s=8.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next_delay() == 1.0


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(initial_s=0)
