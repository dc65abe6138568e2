"""One local Triton "pod" of the soak: a real tritonserver on fixed loopback ports, kept running
by the same supervisor `asen serve` uses (a killed server is cleaned up and restarted, as the
kubelet restarts a crashed container); a restart comes back at the same address."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports
from asen.triton.supervisor import TritonSupervisor


class TritonProcess:
    def __init__(self, name: str, repository: Path, workdir: Path) -> None:
        self.name = name
        self.repository = repository
        self.workdir = workdir
        self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        self.supervisor: TritonSupervisor | None = None
        self.starts = 0

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 600) -> None:
        """Start the server under its supervisor; returns when every model is ready."""
        self.starts += 1
        server = TritonServer(
            self.repository,
            self.http_port,
            self.grpc_port,
            self.metrics_port,
            log_path=self.workdir / f"{self.name}-{self.starts}.log",
        )
        self.supervisor = TritonSupervisor(server, start_timeout=timeout)
        self.supervisor.start()

    def kill(self) -> None:
        """SIGKILL the server process (a crash); its supervisor cleans up and restarts it."""
        assert self.supervisor is not None and self.supervisor.server.pid is not None
        os.kill(self.supervisor.server.pid, signal.SIGKILL)

    def wait_restarted(self, restarts: int, timeout: float = 600) -> None:
        """Wait until the supervisor has restarted the server `restarts` times (models ready)."""
        deadline = time.monotonic() + timeout
        while self.supervisor is None or self.supervisor.restarts < restarts:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not restarted within {timeout:.0f} s")
            time.sleep(0.2)

    @property
    def restarts(self) -> int:
        return self.supervisor.restarts if self.supervisor is not None else 0

    def stop(self) -> None:
        """SIGTERM: Triton finishes the requests it has, then exits (a planned scale-down)."""
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
