"""Fixtures of the Triton tests: one exported repository and one real server per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from triton_support import make_checkpoint, small_config

from asen.checkpoint import load_checkpoint
from asen.export.repository import export_repository
from asen.export.settings import ExportSettings
from asen.triton.launcher import TritonServer
from asen.triton.ports import free_ports

SMALL_PIXEL_LIMIT = 400_000  # 640x480 passes, 1000x500 is refused


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "small.pt", small_config())


@pytest.fixture(scope="session")
def global_only_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "global_only.pt"
    return make_checkpoint(path, small_config(has_local=False))


def export(checkpoint: Path, out: Path, **settings) -> Path:
    export_repository(load_checkpoint(checkpoint), out, ExportSettings(**settings))
    return out


def running_server(repository: Path, log_dir: Path) -> Iterator[TritonServer]:
    http, grpc, metrics = free_ports(3)
    server = TritonServer(repository, http, grpc, metrics, log_path=log_dir / "tritonserver.log")
    server.start(timeout=240)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def small_repository(small_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("repo") / "cpu"
    return export(small_checkpoint, out, max_batch=8, max_image_pixels=SMALL_PIXEL_LIMIT)


@pytest.fixture(scope="module")
def small_server(small_repository: Path, tmp_path_factory) -> Iterator[TritonServer]:
    yield from running_server(small_repository, tmp_path_factory.mktemp("log"))
