"""Start a real `tritonserver` on a model repository, wait until every model is ready, stop it.

Used by `asen triton`, `asen serve` (through the supervisor), the integration tests, the
benchmarks and the gateway's tests:

    with TritonServer(repo, http_port, grpc_port, metrics_port) as server:
        client = InferenceServerClient(server.grpc_url)

Triton is reachable only from this machine unless told otherwise: gRPC, HTTP and metrics bind to
`address` (loopback by default), and HTTP is off when `http_port` is None. Readiness is asked
over gRPC. Every server gets its own prefix for the Python backend's shared-memory regions, so
`stop()` can remove the regions a crashed server left in /dev/shm, beside the Python-backend
processes it left behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import IO

import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from asen.triton.installation import (
    Installation,
    missing_libraries,
    official_installation,
    wheel_installation,
)
from asen_contract.errors import AsenError, ConfigError, Unavailable
from asen_contract.tensors import ENSEMBLE

LOOPBACK = "127.0.0.1"
SHARED_MEMORY = Path("/dev/shm")

# Triton's error log lines ("E1129 14:19:49.318701 ..."), model load failures, fatal errors.
_ERROR_LINE = re.compile(r"^(E\d{4} |error:|.*UNAVAILABLE:|.*error while loading shared)")

# Python-backend shared memory per model instance: start big enough for a batch of full-size
# tensors instead of growing 1 MiB at a time.
_PYTHON_BACKEND_SHM = ("shm-default-byte-size=16777216", "shm-growth-byte-size=16777216")


class TritonServer:
    def __init__(
        self,
        repository: Path,
        http_port: int | None,
        grpc_port: int,
        metrics_port: int,
        tritonserver: Path | None = None,
        log_path: Path | None = None,
        address: str = LOOPBACK,
    ) -> None:
        self.repository = Path(repository).resolve()
        self.http_port, self.grpc_port, self.metrics_port = http_port, grpc_port, metrics_port
        self.tritonserver = tritonserver
        self.log_path = Path(log_path) if log_path is not None else None
        self.address = address
        reach = LOOPBACK if address in ("0.0.0.0", "::", "") else address
        host = f"[{reach}]" if ":" in reach else reach
        self.grpc_url = f"{host}:{grpc_port}"
        self.http_url = f"http://{host}:{http_port}" if http_port else None
        self.metrics_url = f"http://{host}:{metrics_port}/metrics"
        self.shm_prefix = f"asen_triton_{uuid.uuid4().hex[:12]}_"
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
        backend_config = [
            f"--backend-config=python,{item}"
            for item in (*_PYTHON_BACKEND_SHM, f"shm-region-prefix-name={self.shm_prefix}")
        ]
        http = ["--allow-http=false"]
        if self.http_port:
            http = [f"--http-address={self.address}", f"--http-port={self.http_port}"]
        return [
            *installation.command(),
            f"--model-repository={self.repository}",
            f"--grpc-address={self.address}",
            f"--grpc-port={self.grpc_port}",
            *http,
            f"--metrics-address={self.address}",
            f"--metrics-port={self.metrics_port}",
            "--allow-metrics=true",
            "--strict-readiness=true",
            "--exit-on-error=true",
            *backend_config,
        ]

    def start(self, timeout: float = 180, cancel: threading.Event | None = None) -> None:
        """Block until the server and every model in the repository are ready.

        `cancel` (set by another thread) stops a start in progress: the server is stopped and
        Unavailable raised.
        """
        if self.process is not None:
            raise AsenError("this server is already started")
        if not (self.repository / ENSEMBLE / "config.pbtxt").is_file():
            raise ConfigError(f"{self.repository} is not a model repository (run `asen export`)")
        if not SHARED_MEMORY.is_dir():
            raise ConfigError("/dev/shm is missing: Triton's Python backend needs shared memory")
        installation = self.installation()
        missing = missing_libraries(installation.binary, installation.environment)
        if missing:
            raise ConfigError(f"{installation.binary} cannot find libraries: {', '.join(missing)}")
        if self.log_path is None:
            handle, name = tempfile.mkstemp(prefix="tritonserver-", suffix=".log")
            os.close(handle)
            self.log_path = Path(name)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop(); a restart appends
        self.process = subprocess.Popen(
            self.command(installation),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **installation.environment},
            cwd=installation.binary.parent,  # the stubs' import path starts with the cwd
            start_new_session=True,  # stop() can reach the Python-backend stubs too
        )
        try:
            self._wait_ready(timeout, cancel or threading.Event())
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float, cancel: threading.Event) -> None:
        deadline = time.monotonic() + timeout
        with grpcclient.InferenceServerClient(self.grpc_url) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise Unavailable(
                        f"tritonserver exited with status {self.process.returncode} while "
                        f"starting; end of its log ({self.log_path}):\n{self.log_tail()}"
                    )
                if self._all_ready(client):
                    return
                if cancel.wait(0.5):
                    raise Unavailable("tritonserver start cancelled")
        raise Unavailable(
            f"tritonserver not ready after {timeout:.0f} s; end of its log ({self.log_path}):\n"
            f"{self.log_tail()}"
        )

    @staticmethod
    def _all_ready(client: grpcclient.InferenceServerClient) -> bool:
        try:
            if not client.is_server_ready(client_timeout=2):
                return False
            models = client.get_model_repository_index(as_json=True, client_timeout=2)
        except InferenceServerException:
            return False
        states = [model.get("state") for model in models.get("models", [])]
        return bool(states) and all(state == "READY" for state in states)

    def models(self) -> list[dict]:
        """The repository index: name, version and state of every model."""
        with grpcclient.InferenceServerClient(self.grpc_url) as client:
            index = client.get_model_repository_index(as_json=True, client_timeout=5)
        return index.get("models", [])

    def log_tail(self, lines: int = 40) -> str:
        """The server's error lines (model load failures, fatal errors), else the last lines."""
        if self.log_path is None or not self.log_path.is_file():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        errors = [line for line in text if _ERROR_LINE.match(line)]
        return "\n".join(errors[-lines:] if errors else text[-lines:])

    def stop(self, grace: float = 30) -> None:
        """SIGTERM (Triton drains and unloads models), wait, then SIGKILL the process group.

        Also after a crash: the Python-backend stubs the server left (its process group) are
        killed and its shared-memory regions removed.
        """
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
            self.remove_shared_memory()
        if self._log is not None:
            self._log.close()
            self._log = None

    def remove_shared_memory(self) -> list[Path]:
        """Remove this server's Python-backend regions from /dev/shm; returns what was removed."""
        removed = []
        for region in SHARED_MEMORY.glob(f"{self.shm_prefix}*"):
            with contextlib.suppress(FileNotFoundError):
                region.unlink()
                removed.append(region)
        return removed

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None
