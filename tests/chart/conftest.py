"""Chart checks: cases are every example values file plus the defaults, with and without the
Prometheus Operator API, rendered by the real helm binary."""

from __future__ import annotations

import pytest

from .rendering import Case, all_cases


@pytest.fixture(params=all_cases(), ids=str)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param


@pytest.fixture(params=[c for c in all_cases() if c.monitoring_api], ids=str)
def monitoring_case(request: pytest.FixtureRequest) -> Case:
    """Cases rendered for a cluster that serves the Prometheus Operator API."""
    return request.param
