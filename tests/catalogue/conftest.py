"""Fixtures of the catalogue tests: a real Milvus Lite engine in a temporary folder."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
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
