"""Fixtures of the data tests: data set roots written on the fly, one tiny synthetic set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from asen.data.synth import generate_synthetic_dataset

from .roots import SMALL_SYNTH, write_root


@pytest.fixture
def make_root(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))

    def make(**kwargs: object) -> Path:
        return write_root(tmp_path / f"root{next(counter)}", **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "set"
    generate_synthetic_dataset(root, SMALL_SYNTH, progress=False)
    return root
