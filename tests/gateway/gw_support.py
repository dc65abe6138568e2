"""Helpers of the gateway tests: real redis-server and gateway processes, images, metrics
(the fixtures built from them are in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image

from asen_contract.errors import DeadlineExceeded, InvalidInput
from asen_contract.model_info import AttributeSpec, ModelInfo
from gateway.config import GatewayConfig
from gateway.core.inference import InferOutput
from gateway.server import Gateway


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """A real redis-server on a free port that a test can stop and start again."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None


def image_bytes(seed: int, size: tuple[int, int] = (64, 48), fmt: str = "PNG") -> bytes:
    """A small, deterministic, textured test image."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * 64) * 8)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


class GatewayProcess:
    """`python -m gateway` as a separate process, configured by environment variables."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.metrics_port = free_port()
        self.env = {
            **os.environ,
            "ASEN_GRPC_PORT": str(self.port),
            "ASEN_METRICS_PORT": str(self.metrics_port),
            "ASEN_SHUTDOWN_GRACE_SECONDS": "2",
            **env,
        }
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, until: str = "SERVING") -> None:
        """Start and wait until health says `until` (NOT_SERVING: up, but without Triton)."""
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=Path(__file__).resolve().parents[2],
            )
        if not wait_for(lambda: self.health() == until, timeout=120):
            self.stop()
            raise RuntimeError(f"gateway not serving; log:\n{self.log_path.read_text()[-3000:]}")

    def health(self) -> str:
        """SERVING / NOT_SERVING, or DOWN if the gateway does not answer."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        with grpc.insecure_channel(self.address) as channel:
            try:
                response = health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=2
                )
            except grpc.RpcError:
                return "DOWN"
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        return scrape(f"http://127.0.0.1:{self.metrics_port}/metrics", name, labels)

    def stop(self) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code


def scrape(url: str, name: str, labels: dict[str, str] | None = None) -> float:
    """Sum of the samples of metric `name` whose labels include `labels`."""
    from prometheus_client.parser import text_string_to_metric_families

    text = urllib.request.urlopen(url, timeout=10).read().decode()
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in (name, f"{name}_total") and all(
                sample.labels.get(k) == v for k, v in (labels or {}).items()
            ):
                total += sample.value
    return total


def wait_for(condition, timeout: float, interval: float = 0.2) -> bool:
    """Poll `condition` until it is true or `timeout` passes (a wait, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


@dataclass(frozen=True)
class ExportedModel:
    checkpoint: Path
    repository: Path
    attributes: tuple[str, ...]


# -- a scripted stand-in for the Triton pool (unit tests of the core; integration tests use a
# -- real tritonserver) ------------------------------------------------------------------------
INFO = ModelInfo(
    model_version="v-test",
    attributes=(AttributeSpec(0, "collar", 2, ()), AttributeSpec(1, "sleeve", 2, ())),
    beta=0.6,
    global_dim=2,
    embedding_dim=4,
    max_image_pixels=0,
    max_batch_size=2,
)


class ScriptedBackend:
    """Serves INFO; a deterministic embedding per (image bytes, attribute id); records calls."""

    def __init__(self, delay: float = 0.0, reject: bytes | None = None) -> None:
        self.calls: list[tuple[int, list[list[int]]]] = []
        self.delay = delay
        self.reject = reject
        self.model_info = INFO

    async def infer(self, images, attribute_ids, version, want_attention, timeout):
        self.calls.append((len(images), attribute_ids))
        if timeout is not None and self.delay > timeout:  # as Triton does with a client timeout
            await asyncio.sleep(timeout)
            raise DeadlineExceeded("model: deadline exceeded")
        await asyncio.sleep(self.delay)
        if self.reject is not None and self.reject in images:
            raise InvalidInput("model: corrupt image")
        k = len(attribute_ids[0])
        embeddings = np.zeros((len(images), k, 4), dtype=np.float32)
        for b, data in enumerate(images):
            seed = int(hashlib.sha256(data).hexdigest()[:8], 16)
            for j, attribute in enumerate(attribute_ids[b]):
                embeddings[b, j] = np.random.default_rng(seed + attribute).normal(size=4)
        rois = np.tile(np.arange(4, dtype=np.float32), (len(images), k, 1))
        attention = np.ones((len(images), k, 3, 2), np.float32) if want_attention else None
        return InferOutput(embeddings, rois, attention, version)


# -- an in-process gateway on a real gRPC port (no Triton behind it unless a test scripts one) --
@contextlib.asynccontextmanager
async def running_gateway(**settings) -> AsyncIterator[Gateway]:
    defaults = {
        "grpc_port": 0,
        "metrics_port": -1,
        "triton_urls": "127.0.0.1:1",
        "shutdown_delay_seconds": 0.0,
    }
    gateway = Gateway(GatewayConfig(**(defaults | settings)))
    await gateway.start()
    try:
        yield gateway
    finally:
        await gateway.stop(grace=0.5)


async def grpc_code(call) -> grpc.StatusCode:
    """The status code a call ends with (OK if it succeeds)."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def sample(name: str, **labels: str) -> float:
    """A sample of this process's Prometheus registry (0 if it has none yet)."""
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels) or 0.0


def client_ports(server_port: int) -> set[int]:
    """Local ports of this machine's ESTABLISHED TCP connections to `server_port` (/proc/net)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == server_port:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
