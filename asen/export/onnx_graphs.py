"""Export the branch graphs to ONNX and check them against a fresh PyTorch copy of the model.

The legacy TorchScript exporter (`dynamo=False`, opset 17) is used: on this project's models it
gives the same numbers as the dynamo exporter, names the dynamic axes directly, and takes seconds
instead of about a minute per full-size graph. Opset 17 is read by onnxruntime and TensorRT 8.6+.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from torch import nn

from asen.errors import AsenError
from asen.export.graphs import GlobalBackbone, GlobalHead, LocalBranch
from asen.model.network import ASEN

OPSET = 17
TOLERANCE = 1e-3  # max |onnx - torch| / max |torch| per output


@dataclass(frozen=True)
class GraphSpec:
    """One exported graph: the Triton model it becomes and its tensors."""

    name: str
    build: Callable[[ASEN], nn.Module]
    inputs: list[str]
    outputs: list[str]
    dynamic_axes: dict[str, dict[int, str]]
    example: Callable[[int, int], tuple[torch.Tensor, ...]]


@dataclass(frozen=True)
class GraphCheck:
    name: str
    max_relative_error: float


def graph_specs(model: ASEN) -> list[GraphSpec]:
    """The graphs a checkpoint needs: two for a global-only model, three for ASEN++."""
    config = model.config
    size, local_size = config.global_size, config.local_size
    with torch.no_grad():
        probe = model.backbone(torch.zeros(1, 3, size, size), "global")
    channels, height, width = probe.shape[1:]
    bk = {0: "batch", 1: "k"}

    def ids(batch: int, count: int) -> torch.Tensor:
        return torch.randint(0, config.num_attributes, (batch, count), dtype=torch.int32)

    specs = [
        GraphSpec(
            "global_backbone",
            GlobalBackbone,
            ["GLOBAL_IMAGE"],
            ["FEATURES"],
            {"GLOBAL_IMAGE": {0: "batch"}, "FEATURES": {0: "batch"}},
            lambda b, k: (torch.randn(b, 3, size, size),),
        ),
        GraphSpec(
            "global_head",
            lambda m: GlobalHead(m, normalize=not config.has_local),
            ["FEATURES", "ATTRIBUTE"],
            ["GLOBAL_EMBEDDING", "ATTENTION"] if config.has_local else ["EMBEDDING", "ATTENTION"],
            {
                "FEATURES": {0: "batch"},
                "ATTRIBUTE": bk,
                "GLOBAL_EMBEDDING": bk,
                "EMBEDDING": bk,
                "ATTENTION": bk,
            },
            lambda b, k: (torch.randn(b, channels, height, width).relu(), ids(b, k)),
        ),
    ]
    if config.has_local:
        specs.append(
            GraphSpec(
                "local_branch",
                lambda m: LocalBranch(m, config.beta),
                ["LOCAL_IMAGE", "ATTRIBUTE", "GLOBAL_EMBEDDING"],
                ["EMBEDDING"],
                {"LOCAL_IMAGE": bk, "ATTRIBUTE": bk, "GLOBAL_EMBEDDING": bk, "EMBEDDING": bk},
                lambda b, k: (
                    torch.randn(b, k, 3, local_size, local_size),
                    ids(b, k),
                    torch.randn(b, k, config.embed_size),
                ),
            )
        )
    return specs


def export_graph(model: ASEN, spec: GraphSpec, path: Path) -> None:
    """Trace a deep copy: tracing may touch module state, the checked model stays pristine."""
    module = spec.build(copy.deepcopy(model)).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = {
        name: axes
        for name, axes in spec.dynamic_axes.items()
        if name in spec.inputs or name in spec.outputs
    }
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            spec.example(2, 3),
            str(path),
            input_names=spec.inputs,
            output_names=spec.outputs,
            dynamic_axes=kept,
            opset_version=OPSET,
            dynamo=False,
        )
        example = module(*spec.example(2, 3))
    _pin_static_output_dims(path, spec, example if isinstance(example, tuple) else (example,))


def _pin_static_output_dims(path: Path, spec: GraphSpec, example: tuple[torch.Tensor, ...]):
    """The tracer leaves some static output dims symbolic (after a concat): write them down."""
    graph = onnx.load(str(path))
    for output, tensor in zip(graph.graph.output, example, strict=True):
        dynamic = spec.dynamic_axes.get(output.name, {})
        for axis, dim in enumerate(output.type.tensor_type.shape.dim):
            if axis not in dynamic:
                dim.Clear()
                dim.dim_value = int(tensor.shape[axis])
            elif not dim.dim_param:
                dim.dim_param = dynamic[axis]
    onnx.checker.check_model(graph)
    onnx.save(graph, str(path))


def check_graph(model: ASEN, spec: GraphSpec, path: Path, tolerance: float | None = None):
    """Run the graph with onnxruntime at shapes other than the traced ones; compare to PyTorch."""
    tolerance = TOLERANCE if tolerance is None else tolerance
    reference = spec.build(copy.deepcopy(model)).eval()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    torch.manual_seed(0)
    for batch, count in ((1, 1), (3, 2), (2, 5)):
        inputs = spec.example(batch, count)
        with torch.no_grad():
            expected = reference(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        feeds = {name: tensor.numpy() for name, tensor in zip(spec.inputs, inputs, strict=True)}
        got = session.run(spec.outputs, feeds)
        for name, want, have in zip(spec.outputs, expected, got, strict=True):
            want = want.numpy()
            if want.shape != have.shape:
                raise AsenError(f"{spec.name}: {name} has shape {have.shape}, want {want.shape}")
            scale = max(float(np.abs(want).max()), 1e-12)
            worst = max(worst, float(np.abs(want - have).max()) / scale)
    if not worst <= tolerance:
        raise AsenError(
            f"exported {spec.name} differs from PyTorch: max relative error {worst:.3g} "
            f"> tolerance {tolerance:g}"
        )
    return GraphCheck(spec.name, worst)
