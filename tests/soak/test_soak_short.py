"""The 3-minute soak (`make soak-short`): two Tritons behind Kubernetes discovery (the
EndpointSlice stand-in), two gateways, Redis single and Cluster, locust load, and every fault of
the schedule while it runs; asserts the soak's targets (see loadtests/soak/faults.py):
no failed call through Redis faults, a planned scale-down or a drain; for a SIGKILLed Triton only
the calls in flight on it; none outside the fault windows; every fault recovered. The 30-minute
version (`make soak`) also judges memory growth. Every process the soak starts is stopped when
it ends (checked here: no child process of the test left, every port the system used closed)."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import psutil
import pytest

from loadtests.soak.analysis import analyse
from loadtests.soak.report import write_report
from loadtests.soak.runner import run_soak
from loadtests.soak.workload import MIX

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
def soak_run(tmp_path_factory: pytest.TempPathFactory):
    from loadtests.bench_gateway import export_small_model

    workdir = tmp_path_factory.mktemp("soak")
    (workdir / "model").mkdir()
    repository = export_small_model(workdir / "model")
    before = _descendants()
    data = run_soak("short", repository, workdir, capacity_seconds=1)
    left = _descendants() - before
    return analyse(data), left


def _descendants() -> set[tuple[int, str]]:
    """This process's descendants still alive (zombies have been waited for: not counted)."""
    alive = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add((child.pid, " ".join(child.cmdline()[:3])))
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.fixture(scope="module")
def soak(soak_run):
    return soak_run[0]


def test_every_fault_ran_under_load(soak) -> None:
    assert [f.name for f in soak.faults] == FAULTS
    for fault in soak.faults:  # the load kept running through each fault
        during = (soak.calls.start >= fault.begin) & (soak.calls.start <= fault.end + 5)
        assert during.sum() > 20, fault.name
    assert set(soak.calls.name) == set(MIX)  # every call of the mix, catalogue search included
    assert (soak.calls.code[soak.calls.name == "SearchItems/catalogue"] == "OK").any()


def test_the_redis_faults_reached_the_cache(soak) -> None:
    """Killing and slowing Redis made the gateway fail open (errors counted, calls served)."""
    faults = {f.name: f for f in soak.faults}
    assert faults["redis-restart"].cache_errors["gw-single"] > 0
    assert faults["redis-slow"].cache_errors["gw-single"] > 0  # the cache timeout path ran


def test_no_failed_call_beyond_what_each_fault_allows(soak) -> None:
    assert all(f.not_allowed == 0 for f in soak.faults), soak.summary() + soak.failed_calls()
    assert soak.outside_failures == {}, soak.failed_calls()


def test_every_fault_recovered(soak) -> None:
    assert all(f.recovery_s is not None for f in soak.faults), [
        f.name for f in soak.faults if f.recovery_s is None
    ]


def test_every_process_the_soak_started_was_stopped(soak_run) -> None:
    soak, left = soak_run
    assert left == set()
    ports = json.loads((soak.data / "faults.json").read_text())["ports"]
    assert len(ports) >= 2 + 6 + 2 * 3 + 2 * 2
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"


def test_gateways_were_sampled_and_the_report_renders(soak, tmp_path: Path) -> None:
    assert set(soak.samples) == {"gw-single", "gw-cluster"}
    for rows in soak.samples.values():
        assert (rows[:, 1] > 50 * 2**20).any()  # resident memory was read
        assert (rows[:, 2] > 0).any()  # client connections were seen
    write_report(soak, tmp_path / "soak.md")
    text = (tmp_path / "soak.md").read_text()
    assert "| redis-restart |" in text and (tmp_path / "soak_timeline.png").stat().st_size > 0
    if shutil.which("h2load"):  # `make tools` installs it: the raw capacity (h2load) section
        assert "## Raw capacity (h2load)" in text and " 0 failed, p50 " in text
