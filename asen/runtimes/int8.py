"""INT8 post-training quantization of the exported graphs, calibrated on data-set images.

NNCF quantizes the ONNX graph itself (QuantizeLinear/DequantizeLinear pairs around convolutions
and matrix products, fast bias correction), so the result is again an ONNX file that both
onnxruntime and OpenVINO run. `global_head` stays float32: it is small, and it computes the
attention map that decides the RoI box. The backbone feeding it is INT8, so the attention and the
box can still move a little: `asen.runtimes.agreement` measures by how much.

Calibration feeds are what each graph sees when the float32 pipeline embeds the images
(`GraphPipeline.embed(..., record=...)`), one image and one attribute id per sample, the ids
cycling over every attribute so each attribute's local crops are represented.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image

from asen.model.config import ModelConfig
from asen.runtimes.pipeline import Feeds, GraphPipeline
from asen.runtimes.sessions import GraphSession
from asen_contract.errors import AsenError
from asen_contract.tensors import GLOBAL_BACKBONE, LOCAL_BRANCH

INT8_GRAPHS = (GLOBAL_BACKBONE, LOCAL_BRANCH)
MIN_CALIBRATION_IMAGES = 8


def calibration_feeds(
    sessions: dict[str, GraphSession],
    config: ModelConfig,
    images: Sequence[Image.Image],
    progress: Callable[[str], None] = lambda message: None,
) -> dict[str, list[Feeds]]:
    """Every graph's inputs while the float32 pipeline embeds `images`."""
    if len(images) < MIN_CALIBRATION_IMAGES:
        raise AsenError(
            f"INT8 calibration needs at least {MIN_CALIBRATION_IMAGES} images, got {len(images)}"
        )
    pipeline = GraphPipeline(sessions, config)
    record: dict[str, list[Feeds]] = {}
    for index, image in enumerate(images):
        pipeline.embed([image], [[index % config.num_attributes]], record)
        if (index + 1) % 50 == 0:
            progress(f"calibration: {index + 1}/{len(images)} images through float32")
    return record


def quantize_graph(source: Path, feeds: list[Feeds], target: Path) -> None:
    """Write the INT8 (QDQ) version of the ONNX graph `source` to `target`."""
    import nncf
    import onnx

    nncf.set_log_level(logging.ERROR)
    model = onnx.load(str(source))
    with contextlib.redirect_stdout(sys.stderr):  # NNCF's progress bars: never on stdout
        quantized = nncf.quantize(
            model,
            nncf.Dataset(feeds),
            preset=nncf.QuantizationPreset.PERFORMANCE,
            subset_size=len(feeds),
            fast_bias_correction=True,
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(quantized, str(target))
