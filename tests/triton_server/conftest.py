"""Fixtures of the Triton tests: one exported repository and one real server per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from asen.triton.launcher import TritonServer

from .triton_support import (
    SMALL_PIXEL_LIMIT,
    export,
    make_checkpoint,
    running_server,
    small_config,
)


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "small.pt", small_config())


@pytest.fixture(scope="session")
def global_only_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "global_only.pt"
    return make_checkpoint(path, small_config(has_local=False))


@pytest.fixture(scope="module")
def small_repository(small_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("repo") / "cpu"
    return export(small_checkpoint, out, max_batch=8, max_image_pixels=SMALL_PIXEL_LIMIT)


@pytest.fixture(scope="module")
def small_server(small_repository: Path, tmp_path_factory) -> Iterator[TritonServer]:
    yield from running_server(small_repository, tmp_path_factory.mktemp("log"))
