"""The 3-minute soak (`make soak-short`): two Tritons behind Kubernetes discovery (the
EndpointSlice stand-in), two gateways, Redis single and Cluster, locust load, and every fault of
the schedule while it runs; asserts the soak's targets (see loadtests/soak/faults.py):
no failed call through Redis faults, a planned scale-down or a drain; for a SIGKILLed Triton only
the calls in flight on it; none outside the fault windows; every fault recovered. The 30-minute
version (`make soak`) also judges memory growth."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.soak.analysis import analyse
from loadtests.soak.report import write_report
from loadtests.soak.runner import run_soak

FAULTS = [
    "redis-restart",
    "redis-slow",
    "cluster-master-kill",
    "triton-kill",
    "triton-scale-down",
    "triton-scale-up",
    "gateway-drain",
]


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory):
    from loadtests.bench_gateway import export_small_model

    workdir = tmp_path_factory.mktemp("soak")
    (workdir / "model").mkdir()
    repository = export_small_model(workdir / "model")
    return analyse(run_soak("short", repository, workdir))


def test_every_fault_ran_under_load(soak) -> None:
    assert [f.name for f in soak.faults] == FAULTS
    for fault in soak.faults:  # the load kept running through each fault
        during = (soak.calls.start >= fault.begin) & (soak.calls.start <= fault.end + 5)
        assert during.sum() > 20, fault.name
    assert set(soak.calls.name) >= {"Compare/new", "Rank/cached", "EmbedStream/mixed"}


def test_no_failed_call_beyond_what_each_fault_allows(soak) -> None:
    assert all(f.not_allowed == 0 for f in soak.faults), soak.summary() + soak.failed_calls()
    assert soak.outside_failures == {}, soak.failed_calls()


def test_every_fault_recovered(soak) -> None:
    assert all(f.recovery_s is not None for f in soak.faults), [
        f.name for f in soak.faults if f.recovery_s is None
    ]


def test_gateways_were_sampled_and_the_report_renders(soak, tmp_path: Path) -> None:
    assert set(soak.samples) == {"gw-single", "gw-cluster"}
    for rows in soak.samples.values():
        assert (rows[:, 1] > 50 * 2**20).any()  # resident memory was read
        assert (rows[:, 2] > 0).any()  # client connections were seen
    write_report(soak, tmp_path / "soak.md")
    text = (tmp_path / "soak.md").read_text()
    assert "| redis-restart |" in text and (tmp_path / "soak_timeline.png").stat().st_size > 0
