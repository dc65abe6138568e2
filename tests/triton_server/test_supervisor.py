"""A tritonserver that dies is restarted, and what it left behind is cleaned up (issue 10).

Real processes throughout: the real tritonserver is SIGKILLed; its Python-backend stubs and its
/dev/shm regions must be gone after the restart, and the new server must serve.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tritonclient.grpc as grpcclient

from asen.client import AsenClient, ClientError
from asen.triton.launcher import SHARED_MEMORY, TritonServer
from asen.triton.ports import free_ports
from asen.triton.supervisor import TritonSupervisor

from .triton_support import encode, garment_image, infer, process_group


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture
def supervised(small_repository, tmp_path) -> Iterator[tuple[TritonSupervisor, list[str]]]:
    grpc, metrics = free_ports(2)
    server = TritonServer(small_repository, None, grpc, metrics, log_path=tmp_path / "triton.log")
    reports: list[str] = []
    supervisor = TritonSupervisor(server, report=reports.append, start_timeout=240)
    supervisor.start()
    try:
        yield supervisor, reports
    finally:
        supervisor.stop()


def test_sigkilled_server_is_restarted_and_its_leftovers_removed(supervised):
    supervisor, reports = supervised
    server = supervisor.server
    old_pid = server.pid
    stubs = [pid for pid in process_group(old_pid) if pid != old_pid]
    regions = set(SHARED_MEMORY.glob(f"{server.shm_prefix}*"))
    assert len(stubs) >= 5, stubs  # one stub per Python model instance
    assert regions

    os.kill(old_pid, signal.SIGKILL)

    assert wait_for(lambda: supervisor.restarts == 1 and server.running, timeout=300), reports
    assert server.pid != old_pid
    assert process_group(old_pid) == []  # no stub of the killed server is left
    assert not regions & set(SHARED_MEMORY.glob(f"{server.shm_prefix}*"))
    assert any("exited unexpectedly (status -9)" in line for line in reports), reports
    client = grpcclient.InferenceServerClient(server.grpc_url)
    assert infer(client, [encode(garment_image(120, 90))], [[1]])["EMBEDDING"].shape[:2] == (1, 1)


def test_stop_during_a_restart_wins(supervised):
    supervisor, _ = supervised
    os.kill(supervisor.server.pid, signal.SIGKILL)
    assert wait_for(lambda: not supervisor.server.running, timeout=30)
    started = time.monotonic()
    supervisor.stop()  # during the back-off or the new start: returns promptly, nothing left
    assert time.monotonic() - started < 60
    assert supervisor.server.process is None
    assert not list(SHARED_MEMORY.glob(f"{supervisor.server.shm_prefix}*"))


def tritonserver_of(parent: int) -> int | None:
    """The pid of the tritonserver process started by `parent`, from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name = (stat.parent / "comm").read_text().strip()
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError):
            continue
        if name == "tritonserver" and ppid == parent:
            return int(stat.parent.name)
    return None


def test_asen_serve_recovers_from_a_killed_triton(small_repository, tmp_path):
    """The whole stack: SIGKILL asen serve's tritonserver; the gateway serves again by itself."""
    port, metrics, triton = free_ports(3)
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "asen", "serve", "--repository", str(small_repository)]
    command += ["--grpc-port", str(port), "--metrics-port", str(metrics)]
    command += ["--triton-grpc-port", str(triton)]
    with open(log, "wb") as handle:
        serve = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    seeds = iter(range(1000))

    def embeds() -> bool:  # a new image each time: a cached embedding would not need Triton
        try:
            client.embed(encode(garment_image(90, 70, seed=next(seeds))))
        except ClientError:
            return False
        return True

    try:
        with AsenClient(f"127.0.0.1:{port}", timeout=30) as client:
            assert wait_for(embeds, timeout=300), log.read_text()
            first = tritonserver_of(serve.pid)
            assert first is not None and len(process_group(first)) >= 5
            os.kill(first, signal.SIGKILL)
            assert wait_for(lambda: not embeds(), timeout=30)  # Triton is down
            assert wait_for(embeds, timeout=300), log.read_text()  # and back, same gateway
            second = tritonserver_of(serve.pid)
            assert second not in (None, first)
            assert process_group(first) == []
            restarted = "tritonserver restarted (restart 1)"
            assert wait_for(lambda: restarted in log.read_text(), timeout=30)
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=120)
    output = log.read_text()
    assert code == 0, output
    assert "tritonserver exited unexpectedly (status -9)" in output
    assert process_group(second) == []  # everything stopped with asen serve
