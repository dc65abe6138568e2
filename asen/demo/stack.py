"""Start `asen serve` (tritonserver + gateway) as a child process and stop it cleanly."""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

from asen.client import AsenClient
from asen.client.client import ClientError
from asen.triton.ports import free_ports
from asen_contract.errors import AsenError


class ServedStack:
    def __init__(self, repository: Path, log_path: Path, startup_timeout: float = 300) -> None:
        self.grpc_port, self.metrics_port = free_ports(2)
        self.address = f"127.0.0.1:{self.grpc_port}"
        self.repository = repository
        self.log_path = log_path
        self.startup_timeout = startup_timeout
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ServedStack:
        args = [
            "serve", "--repository", str(self.repository), "--grpc-port", str(self.grpc_port),
            "--metrics-port", str(self.metrics_port),
        ]  # fmt: skip
        print(f"\n$ asen {shlex.join(args)}   (log: {self.log_path})", flush=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "asen", *args], stdout=log, stderr=subprocess.STDOUT
        )
        self._wait_until_serving()
        return self

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        with AsenClient(self.address, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AsenError(f"asen serve exited early; see {self.log_path}")
                try:
                    client.list_attributes()
                    return
                except ClientError:
                    time.sleep(1)
        raise AsenError(f"the stack did not start within {self.startup_timeout:.0f} s")

    def __exit__(self, *exc: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        print(f"stack stopped (exit code {self.process.returncode})")
