"""One local Triton "pod" of the soak: a real tritonserver on fixed loopback ports, so that a
restart comes back at the same address (as a pod keeps its Service port)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports


class TritonProcess:
    def __init__(self, name: str, repository: Path, workdir: Path) -> None:
        self.name = name
        self.repository = repository
        self.workdir = workdir
        self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        self.server: TritonServer | None = None
        self.starts = 0

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 600) -> None:
        self.starts += 1
        self.server = TritonServer(
            self.repository,
            self.http_port,
            self.grpc_port,
            self.metrics_port,
            log_path=self.workdir / f"{self.name}-{self.starts}.log",
        )
        self.server.start(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the server (a crash), then clean up what a crashed server leaves behind (its
        Python-backend stubs), as a supervisor would before restarting it."""
        server, self.server = self.server, None
        if server is None or server.process is None:
            return
        pid = server.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        server.process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        server.process = None
        server.stop()  # closes its log

    def stop(self) -> None:
        """SIGTERM: Triton finishes the requests it has, then exits (a planned scale-down)."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def pid(self) -> int | None:
        return self.server.process.pid if self.server and self.server.process else None
