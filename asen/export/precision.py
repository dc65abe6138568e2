"""The cpu target's runtime and precision, applied to the exported float32 graphs and checked.

- OpenVINO, float32: the served pipeline must meet the parity rule against float32 onnxruntime
  (fused cosine >= 0.9999, identical RoI boxes), or the export fails, like the graph checks.
- INT8: `global_backbone` and `local_branch` are replaced by INT8 graphs calibrated on the
  images given (`asen.runtimes.int8`); `global_head` stays float32. INT8 cannot meet the parity
  rule, so its cost is measured and reported instead (export.json, `asen export` output): worst
  and mean fused cosine and the share of identical RoI boxes against float32 onnxruntime.

Agreement is measured on held-out images (the data set's validation split), or on drawn
synthetic garments when no data set is given.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from asen.data.synth.attributes import SYNTH_SPEC
from asen.data.synth.garment import draw_garment
from asen.export.settings import ExportSettings
from asen.model.config import ModelConfig
from asen.runtimes.agreement import compare
from asen.runtimes.int8 import INT8_GRAPHS, calibration_feeds, quantize_graph
from asen.runtimes.pipeline import GraphPipeline
from asen.runtimes.sessions import open_session
from asen_contract.errors import ConfigError
from asen_contract.images import read_image_file

CHECK_IMAGES = 8


def calibration_digest(paths: Sequence[Path]) -> str:
    """What the INT8 weights depend on beyond the checkpoint: part of the model version."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(hashlib.sha256(Path(path).read_bytes()).digest())
    return digest.hexdigest()[:12]


def apply_precision(
    graphs: dict[str, Path],
    config: ModelConfig,
    settings: ExportSettings,
    calibration: Sequence[Path],
    held_out: Sequence[Path],
    progress: Callable[[str], None],
) -> dict | None:
    """Quantize (int8) and check the served runtime; returns the agreement for the manifest."""
    if settings.target != "cpu" or (settings.runtime, settings.precision) == (
        "onnxruntime",
        "float32",
    ):
        return None
    float32 = {name: path.with_name(f"{name}.float32.onnx") for name, path in graphs.items()}
    for name, path in graphs.items():
        shutil.copy(path, float32[name])
    try:
        if settings.precision == "int8":
            _quantize(graphs, float32, config, calibration, progress)
        images = _check_images(held_out)
        reference = _pipeline(float32, config, "onnxruntime")
        served = _pipeline(graphs, config, settings.runtime)
        progress(f"comparing {settings.runtime}/{settings.precision} with float32 onnxruntime")
        agreement = compare(reference, served, images, config.num_attributes)
    finally:
        for path in float32.values():
            path.unlink(missing_ok=True)
    progress(
        f"{settings.runtime}/{settings.precision}: fused cosine min {agreement.min_cosine:.6f} "
        f"mean {agreement.mean_cosine:.6f}, identical RoI boxes {agreement.roi_identical:.1%} "
        f"({agreement.pairs} pairs)"
    )
    if settings.precision == "float32" and not agreement.parity:
        raise ConfigError(
            f"{settings.runtime} float32 misses the parity rule: worst fused cosine "
            f"{agreement.min_cosine:.6f}, identical RoI boxes {agreement.roi_identical:.1%}"
        )
    return {**agreement.to_dict(), "images": len(images)}


def _quantize(graphs, float32, config, calibration, progress) -> None:
    progress(f"INT8 calibration on {len(calibration)} images")
    images = [read_image_file(path) for path in calibration]
    feeds = calibration_feeds(_sessions(float32, "onnxruntime"), config, images, progress)
    for name in INT8_GRAPHS:
        if name in graphs:
            progress(f"quantizing {name} to INT8")
            quantize_graph(float32[name], feeds[name], graphs[name])


def _check_images(held_out: Sequence[Path]) -> list[Image.Image]:
    if held_out:
        return [read_image_file(path) for path in held_out[:CHECK_IMAGES]]
    garments = []
    for seed in range(CHECK_IMAGES):
        values = [seed % count for count in SYNTH_SPEC.num_values]
        garments.append(draw_garment(values, seed).image)
    return garments


def _sessions(paths: dict[str, Path], runtime: str) -> dict:
    return {name: open_session(path, runtime, 1) for name, path in paths.items()}


def _pipeline(paths: dict[str, Path], config: ModelConfig, runtime: str) -> GraphPipeline:
    return GraphPipeline(_sessions(paths, runtime), config)
