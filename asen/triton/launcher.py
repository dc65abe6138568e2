"""Start a real `tritonserver` on a model repository, wait until every model is ready, stop it.

Used by `asen triton`, the integration tests, the benchmarks and the gateway's tests:

    with TritonServer(repo, http_port, grpc_port, metrics_port) as server:
        client = InferenceServerClient(server.grpc_url)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

from asen.triton.installation import (
    Installation,
    missing_libraries,
    official_installation,
    wheel_installation,
)
from asen_contract.errors import AsenError
from asen_contract.tensors import ENSEMBLE

# Triton's error log lines ("E1129 14:19:49.318701 ..."), model load failures, fatal errors.
_ERROR_LINE = re.compile(r"^(E\d{4} |error:|.*UNAVAILABLE:|.*error while loading shared)")

# Python-backend shared memory per model instance: start big enough for a batch of full-size
# tensors instead of growing 1 MiB at a time.
_PYTHON_BACKEND_SHM = ("shm-default-byte-size=16777216", "shm-growth-byte-size=16777216")


class TritonServer:
    def __init__(
        self,
        repository: Path,
        http_port: int,
        grpc_port: int,
        metrics_port: int,
        tritonserver: Path | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.repository = Path(repository).resolve()
        self.http_port, self.grpc_port, self.metrics_port = http_port, grpc_port, metrics_port
        self.tritonserver = tritonserver
        self.log_path = Path(log_path) if log_path is not None else None
        self.grpc_url = f"127.0.0.1:{grpc_port}"
        self.http_url = f"http://127.0.0.1:{http_port}"
        self.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.process: subprocess.Popen | None = None
        self._log: IO[bytes] | None = None

    def __enter__(self) -> TritonServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def installation(self) -> Installation:
        if self.tritonserver is not None:
            return official_installation(self.tritonserver)
        return wheel_installation()

    def command(self, installation: Installation) -> list[str]:
        backend_config = [f"--backend-config=python,{item}" for item in _PYTHON_BACKEND_SHM]
        return [
            *installation.command(),
            f"--model-repository={self.repository}",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-port={self.metrics_port}",
            "--allow-metrics=true",
            "--strict-readiness=true",
            "--exit-on-error=true",
            *backend_config,
        ]

    def start(self, timeout: float = 180) -> None:
        """Block until the server and every model in the repository are ready."""
        if self.process is not None:
            raise AsenError("this server is already started")
        if not (self.repository / ENSEMBLE / "config.pbtxt").is_file():
            raise AsenError(f"{self.repository} is not a model repository (run `asen export`)")
        if not Path("/dev/shm").is_dir():
            raise AsenError("/dev/shm is missing: Triton's Python backend needs shared memory")
        installation = self.installation()
        missing = missing_libraries(installation.binary, installation.environment)
        if missing:
            raise AsenError(f"{installation.binary} cannot find libraries: {', '.join(missing)}")
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="tritonserver-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            self.command(installation),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **installation.environment},
            cwd=installation.binary.parent,  # the stubs' import path starts with the cwd
            start_new_session=True,  # stop() can reach the Python-backend stubs too
        )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AsenError(
                    f"tritonserver exited with status {self.process.returncode} while starting; "
                    f"end of its log ({self.log_path}):\n{self.log_tail()}"
                )
            if self._all_ready():
                return
            time.sleep(0.5)
        raise AsenError(
            f"tritonserver not ready after {timeout:.0f} s; end of its log ({self.log_path}):\n"
            f"{self.log_tail()}"
        )

    def _all_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http_url}/v2/health/ready", timeout=2) as reply:
                if reply.status != 200:
                    return False
            request = urllib.request.Request(
                f"{self.http_url}/v2/repository/index", data=b"{}", method="POST"
            )
            with urllib.request.urlopen(request, timeout=2) as reply:
                models = json.loads(reply.read())
        except (urllib.error.URLError, OSError, ValueError):
            return False
        return bool(models) and all(model.get("state") == "READY" for model in models)

    def models(self) -> list[dict]:
        """The repository index: name, version and state of every model."""
        request = urllib.request.Request(
            f"{self.http_url}/v2/repository/index", data=b"{}", method="POST"
        )
        with urllib.request.urlopen(request, timeout=5) as reply:
            return json.loads(reply.read())

    def log_tail(self, lines: int = 40) -> str:
        """The server's error lines (model load failures, fatal errors), else the last lines."""
        if self.log_path is None or not self.log_path.is_file():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        errors = [line for line in text if _ERROR_LINE.match(line)]
        return "\n".join(errors[-lines:] if errors else text[-lines:])

    def stop(self, grace: float = 30) -> None:
        """SIGTERM (Triton drains and unloads models), wait, then SIGKILL the process group."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # stubs left behind by a crashed server
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
