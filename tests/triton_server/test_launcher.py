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
