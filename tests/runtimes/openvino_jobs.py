"""Checks that load OpenVINO (directly or through NNCF, which imports it), run in a spawned child.

A process that has loaded OpenVINO must not fork afterwards: the test suite forks torch
DataLoader workers later, and they crash (taking pytest with them). Each job here runs in a
`spawn` worker (`conftest.openvino_pool`) and returns plain data for the test to assert on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from asen.model.config import ModelConfig
from asen.runtimes.agreement import compare
from asen.runtimes.int8 import INT8_GRAPHS, calibration_feeds, quantize_graph
from asen.runtimes.pipeline import GRAPHS, GraphPipeline
from asen.runtimes.sessions import RUNTIMES, open_session
from asen_contract.images import read_image_file


def _pipeline(paths: dict[str, Path], config: ModelConfig, runtime: str) -> GraphPipeline:
    return GraphPipeline({g: open_session(paths[g], runtime, 1) for g in GRAPHS}, config)


def head_signature(path: Path, runtime: str) -> dict:
    session = open_session(path, runtime, threads=1)
    features = np.random.default_rng(0).random((3, 64, 6, 6), dtype=np.float32)
    embedding, attention = session.run(
        {"FEATURES": features, "ATTRIBUTE": np.zeros((3, 5), np.int32)}
    )
    return {
        "inputs": session.inputs,
        "outputs": session.outputs,
        "shapes": [list(embedding.shape), list(attention.shape)],
    }


def float32_parity(paths: dict[str, Path], config: dict, images: list[Path]) -> dict:
    model_config = ModelConfig.from_dict(config)
    decoded = [read_image_file(path) for path in images]
    reference = _pipeline(paths, model_config, "onnxruntime")
    agreement = compare(
        reference, _pipeline(paths, model_config, "openvino"), decoded, model_config.num_attributes
    )
    boxes = reference.embed(decoded[:1], [list(range(model_config.num_attributes))]).roi[0]
    return {**agreement.to_dict(), "distinct_boxes": len({tuple(b) for b in boxes.tolist()})}


def outputs_survive_the_next_call(path: Path) -> bool:
    session = open_session(path, "openvino", 1)
    rng = np.random.default_rng(1)
    first = session.run({"GLOBAL_IMAGE": rng.random((1, 3, 96, 96), dtype=np.float32)})[0]
    kept = first.copy()
    session.run({"GLOBAL_IMAGE": rng.random((1, 3, 96, 96), dtype=np.float32)})
    return bool(np.array_equal(first, kept))


def int8_round_trip(
    paths: dict[str, Path], config: dict, train: list[Path], test: list[Path], folder: Path
) -> dict:
    """Calibrate, quantize, then compare each runtime's INT8 pipeline with float32."""
    model_config = ModelConfig.from_dict(config)
    fp32 = {g: open_session(paths[g], "onnxruntime", 1) for g in GRAPHS}
    feeds = calibration_feeds(fp32, model_config, [read_image_file(p) for p in train])
    quantized = dict(paths)
    for name in INT8_GRAPHS:
        quantized[name] = folder / f"{name}.int8.onnx"
        quantize_graph(paths[name], feeds[name], quantized[name])
    decoded = [read_image_file(path) for path in test]
    reference = _pipeline(paths, model_config, "onnxruntime")
    return {
        "samples": {name: len(values) for name, values in feeds.items()},
        "calibrated_ids": sorted({int(f["ATTRIBUTE"][0, 0]) for f in feeds["local_branch"]}),
        "ops": {
            name: [node.op_type for node in onnx.load(str(quantized[name])).graph.node]
            for name in INT8_GRAPHS
        },
        "agreement": {
            runtime: compare(
                reference,
                _pipeline(quantized, model_config, runtime),
                decoded,
                model_config.num_attributes,
            ).to_dict()
            for runtime in RUNTIMES
        },
    }
