"""Fixtures of the runtime tests: a small ASEN++ model's graphs, synthetic garment images, and a
spawned worker for every check that loads OpenVINO (see `openvino_jobs`)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from pathlib import Path

import pytest

from asen.data.dataset import open_dataset
from asen.data.synth import generate_synthetic_dataset
from asen.data.synth.attributes import SYNTH_SPEC
from asen.data.synth.settings import MIN_IMAGES, SynthSettings
from asen.export.onnx_graphs import export_graph, graph_specs, model_geometry
from asen.model.config import ModelConfig

from ..factories import tiny_config, tiny_model


@pytest.fixture(scope="session")
def graphs(tmp_path_factory) -> tuple[ModelConfig, dict[str, Path]]:
    config = tiny_config(len(SYNTH_SPEC.num_values), global_size=96, local_size=48, threshold=0.5)
    model = tiny_model(config, sharp_attention=True)
    folder = tmp_path_factory.mktemp("graphs")
    paths = {}
    for spec in graph_specs(model, model_geometry(model)):
        paths[spec.name] = folder / f"{spec.name}.onnx"
        export_graph(model, spec, paths[spec.name])
    return model.config, paths


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A small synthetic data set (train 24 images, valid and test the smallest allowed)."""
    root = tmp_path_factory.mktemp("synth") / "data"
    counts = {"train": 24, "valid": MIN_IMAGES, "test": MIN_IMAGES}
    generate_synthetic_dataset(
        root, SynthSettings(**counts, image_size=120, difficulty="hard"), progress=False
    )
    return root


@pytest.fixture(scope="session")
def synthetic_images(synthetic_root) -> dict[str, list[Path]]:
    """Image files of the synthetic set: `train` for calibration, `test` for checks."""
    dataset = open_dataset(synthetic_root)
    return {split: dataset.images(split) for split in ("train", "test")}


@pytest.fixture(scope="module")
def openvino_pool() -> Iterator:
    """One spawned worker process: OpenVINO never loads into the pytest process."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        yield pool
