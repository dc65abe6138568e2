"""The launcher and `asen triton`: clear errors, clean start and stop of a real server."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen_contract.errors import AsenError, ConfigError

from .triton_support import listening_addresses


def test_missing_binary_is_a_clear_error(small_repository, tmp_path):
    server = TritonServer(small_repository, 1, 2, 3, tritonserver=tmp_path / "tritonserver")
    with pytest.raises(ConfigError, match="not an executable tritonserver"):
        server.start()


def test_not_a_repository(tmp_path):
    with pytest.raises(AsenError, match="not a model repository"):
        TritonServer(tmp_path, 1, 2, 3).start()


def test_early_exit_reports_the_log_tail(small_repository, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "asen").mkdir()
    (broken / "asen" / "config.pbtxt").write_text('name: "asen"\nplatform: "ensemble"\n')
    http, grpc, metrics = free_ports(3)
    server = TritonServer(broken, http, grpc, metrics, log_path=tmp_path / "log.txt")
    with pytest.raises(AsenError, match="exited with status") as failure:
        server.start(timeout=120)
    assert "asen" in str(failure.value)  # the log tail names the failing model
    assert server.process is None


def test_cli_serves_until_sigterm(small_repository, tmp_path):
    http, grpc, metrics = free_ports(3)
    command = [sys.executable, "-m", "asen", "triton", "--repository", str(small_repository)]
    command += ["--http-port", str(http), "--grpc-port", str(grpc), "--metrics-port", str(metrics)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            lines.append(line)
            if "SIGTERM stops it" in line or not line:
                break
        output = "".join(lines)
        assert f"127.0.0.1:{grpc}" in output, output
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert "tritonserver stopped" in process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()


def test_listens_on_loopback_only_and_without_http(small_server):
    """Issue 10: Triton bound gRPC, HTTP and metrics to every interface (0.0.0.0 / ::)."""
    listening = listening_addresses(small_server.pid)
    assert {port for _, port in listening} == {small_server.grpc_port, small_server.metrics_port}
    loopback = {"127.0.0.1", "::ffff:127.0.0.1"}  # gRPC listens on an IPv6 socket, v4-mapped
    assert {address for address, _ in listening} <= loopback, listening
    assert small_server.http_url is None


def test_an_explicit_address_widens_it(small_repository, tmp_path):
    grpc, metrics, http = free_ports(3)
    server = TritonServer(
        small_repository, http, grpc, metrics, log_path=tmp_path / "log", address="0.0.0.0"
    )
    command = server.command(server.installation())
    assert "--grpc-address=0.0.0.0" in command and f"--http-port={http}" in command
    assert "--metrics-address=0.0.0.0" in command and "--allow-http=false" not in command
    assert server.grpc_url == f"127.0.0.1:{grpc}"  # reached locally through loopback
