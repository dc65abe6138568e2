"""Fixtures of the catalogue tests: a real Milvus Lite engine (a file in this process, or its
server), small exported models, real tritonserver and gateway processes."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.catalogue.settings import CatalogueSettings
from gateway.catalogue.store import CatalogueStore


def soon(seconds: float = 30.0) -> float:
    """A deadline for one test call."""
    return time.monotonic() + seconds


@pytest.fixture
async def lite_store(tmp_path: Path) -> AsyncIterator[CatalogueStore]:
    store = CatalogueStore(CatalogueSettings(uri=str(tmp_path / "catalogue.db")))
    yield store
    await store.close()


@pytest.fixture(params=["partition", "filter"])
async def any_layout_store(request, tmp_path: Path) -> AsyncIterator[CatalogueStore]:
    settings = CatalogueSettings(uri=str(tmp_path / "catalogue.db"), layout=request.param)
    store = CatalogueStore(settings)
    yield store
    await store.close()


# -- a served model, a Milvus Lite server, a gateway ----------------------------------------------
ATTRIBUTES = ("collar_design", "sleeve_length", "lapel_design")


@dataclass(frozen=True)
class ServedModel:
    checkpoint: Path
    repository: Path


def export_tiny(
    directory: Path, seed: int, specs: list | None = None, sizes: tuple[int, int] = (96, 48)
) -> ServedModel:
    """A small untrained ASEN++ (tiny backbones, both branches) exported for the cpu target;
    a different seed gives a different model version."""
    from asen.checkpoint import AttributeSpec, load_checkpoint
    from asen.export.repository import export_repository
    from asen.export.settings import ExportSettings

    from ..factories import tiny_checkpoint, tiny_config

    specs = specs or [AttributeSpec(name, 3, None) for name in ATTRIBUTES]
    config = tiny_config(len(specs), global_size=sizes[0], local_size=sizes[1])
    checkpoint = tiny_checkpoint(
        directory / "tiny.pt", config, specs, seed=seed, sharp_attention=True
    )
    repository = directory / "repository"
    export_repository(
        load_checkpoint(checkpoint), repository, ExportSettings(target="cpu", max_batch=8)
    )
    return ServedModel(checkpoint, repository)


class MilvusLiteServer:
    """`milvus-lite server`: the same engine as a .db file, reached over the network like a
    Milvus server (several gateways can share it)."""

    def __init__(self, data_dir: Path) -> None:
        from asen.triton.ports import free_port

        self.port = free_port()
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = Path(sys.executable).with_name("milvus-lite")
        self.process = subprocess.Popen(
            [str(binary), "server", "--data-dir", str(self.data_dir), "--host", "127.0.0.1",
             "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("milvus-lite server did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture(scope="package")
def model_v1(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    return export_tiny(tmp_path_factory.mktemp("model-v1"), seed=1)


@pytest.fixture(scope="package")
def model_v2(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    return export_tiny(tmp_path_factory.mktemp("model-v2"), seed=2)


@pytest.fixture(scope="package")
def lite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MilvusLiteServer]:
    server = MilvusLiteServer(tmp_path_factory.mktemp("milvus") / "data")
    server.start()
    yield server
    server.stop()


def catalogue_env(uri: str, **extra: str) -> dict[str, str]:
    """Gateway settings for a catalogue test: FLAT float32 on the Lite server (auto would pick
    a server's HNSW and float16, which Milvus Lite does not have)."""
    return {
        "ASEN_CATALOGUE_URI": uri,
        "ASEN_CATALOGUE_INDEX": "FLAT",
        "ASEN_CATALOGUE_VECTOR_TYPE": "float32",
        "ASEN_CATALOGUE_MAX_TOP_K": "50",
        **extra,
    }


@contextlib.contextmanager
def served_gateway(model: ServedModel, logs: Path, env: dict[str, str]) -> Iterator[tuple]:
    """A real tritonserver with `model` and `python -m gateway` in front of it."""
    from asen.triton.launcher import TritonServer
    from asen.triton.ports import free_ports

    from ..gateway.gw_support import GatewayProcess

    http, grpc_port, metrics = free_ports(3)
    triton = TritonServer(
        model.repository, http, grpc_port, metrics, log_path=logs / f"triton-{grpc_port}.log"
    )
    triton.start(timeout=300)
    gateway = GatewayProcess(
        {"ASEN_TRITON_URLS": triton.grpc_url, **env}, logs / f"gateway-{grpc_port}.log"
    )
    try:
        gateway.start()
        yield triton, gateway
    finally:
        gateway.stop()
        triton.stop()
