"""One local gateway "pod" of the soak: `python -m gateway` on fixed loopback ports, configured
by ASEN_* variables; its memory and open connections can be read while it runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from asen.triton.ports import free_ports

ROOT = Path(__file__).resolve().parents[2]


class GatewayProcess:
    def __init__(self, name: str, env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.workdir = workdir
        self.port, self.metrics_port = free_ports(2)
        self.env = {
            **os.environ,
            "ASEN_GRPC_PORT": str(self.port),
            "ASEN_METRICS_PORT": str(self.metrics_port),
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self, until: str = "SERVING", timeout: float = 120) -> None:
        """Start and wait until its readiness is `until` (NOT_SERVING: up, no Triton yet)."""
        self.starts += 1
        with open(self.workdir / f"{self.name}-{self.starts}.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while self.health() != until:
            if self.process.poll() is not None or time.monotonic() > deadline:
                code = self.stop()
                raise RuntimeError(f"gateway {self.name} did not become {until} (exit {code})")
            time.sleep(0.1)

    def health(self) -> str:
        """SERVING / NOT_SERVING, or DOWN when it does not answer."""
        with grpc.insecure_channel(self.address) as channel:
            try:
                reply = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=2
                )
            except grpc.RpcError:
                return "DOWN"
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM: the gateway drains its calls and exits; SIGKILL if it does not in time."""
        process, self.process = self.process, None
        if process is None:
            return None
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def memory_bytes(self) -> int:
        """Resident memory (VmRSS), 0 when not running."""
        return _status_kb(self.pid, "VmRSS") * 1024

    def open_connections(self) -> tuple[int, int]:
        """Established TCP connections: (from clients, to Triton/Redis)."""
        return established_sockets(self.pid, self.port)


def _status_kb(pid: int | None, field: str) -> int:
    if pid is None:
        return 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def established_sockets(pid: int | None, listen_port: int) -> tuple[int, int]:
    """The process's ESTABLISHED TCP connections, split into inbound (local port = the one it
    listens on) and outbound; (0, 0) when it is not running."""
    if pid is None:
        return 0, 0
    inodes = set()
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return 0, 0
    for fd in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    inbound = outbound = 0
    for table in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] != "01" or fields[9] not in inodes:  # 01 = ESTABLISHED
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == listen_port:
                inbound += 1
            else:
                outbound += 1
    return inbound, outbound
