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

from asen.export.graphs import GlobalBackbone, GlobalHead, LocalBranch
from asen.model.network import ASEN
from asen_contract.errors import AsenError
from asen_contract.tensors import (
    ANY,
    GLOBAL_BACKBONE,
    GLOBAL_HEAD,
    LOCAL_BRANCH,
    Geometry,
    Signature,
    signatures,
)

OPSET = 17
TOLERANCE = 1e-3  # max |onnx - torch| / max |torch| per output


@dataclass(frozen=True)
class GraphSpec:
    """One exported graph: the Triton model it becomes, its module and its tensors."""

    name: str
    build: Callable[[ASEN], nn.Module]
    signature: Signature
    example: Callable[[int, int], tuple[torch.Tensor, ...]]

    @property
    def inputs(self) -> list[str]:
        return [tensor.name for tensor in self.signature.inputs]

    @property
    def outputs(self) -> list[str]:
        return [tensor.name for tensor in self.signature.outputs]

    def dynamic_axes(self) -> dict[str, dict[int, str]]:
        """The batch axis and every attribute axis (ANY) of every tensor, by name."""
        axes = {}
        for tensor in (*self.signature.inputs, *self.signature.outputs):
            named = {axis + 1: "k" for axis, dim in enumerate(tensor.dims) if dim == ANY}
            axes[tensor.name] = {0: "batch", **named}
        return axes


@dataclass(frozen=True)
class GraphCheck:
    name: str
    max_relative_error: float


def model_geometry(model: ASEN) -> Geometry:
    """The tensor sizes of this model (the feature map's by a probe of the global backbone)."""
    config = model.config
    size = config.global_size
    with torch.no_grad():
        probe = model.backbone(torch.zeros(1, 3, size, size), "global")
    channels, height, width = (int(v) for v in probe.shape[1:])
    return Geometry(
        global_size=size,
        local_size=config.local_size if config.has_local else 0,
        channels=channels,
        attention_hw=(height, width),
        embed_size=config.embed_size,
    )


def graph_specs(model: ASEN, geometry: Geometry) -> list[GraphSpec]:
    """The graphs a checkpoint needs: two for a global-only model, three for ASEN++."""
    config = model.config
    size, local_size = geometry.global_size, geometry.local_size
    channels, (height, width) = geometry.channels, geometry.attention_hw
    signature = signatures(geometry)

    def ids(batch: int, count: int) -> torch.Tensor:
        return torch.randint(0, config.num_attributes, (batch, count), dtype=torch.int32)

    specs = [
        GraphSpec(
            GLOBAL_BACKBONE,
            GlobalBackbone,
            signature[GLOBAL_BACKBONE],
            lambda b, k: (torch.randn(b, 3, size, size),),
        ),
        GraphSpec(
            GLOBAL_HEAD,
            lambda m: GlobalHead(m, normalize=not geometry.has_local),
            signature[GLOBAL_HEAD],
            lambda b, k: (torch.randn(b, channels, height, width).relu(), ids(b, k)),
        ),
    ]
    if geometry.has_local:
        specs.append(
            GraphSpec(
                LOCAL_BRANCH,
                lambda m: LocalBranch(m, config.beta),
                signature[LOCAL_BRANCH],
                lambda b, k: (
                    torch.randn(b, k, 3, local_size, local_size),
                    ids(b, k),
                    torch.randn(b, k, geometry.embed_size),
                ),
            )
        )
    return specs


def export_graph(model: ASEN, spec: GraphSpec, path: Path) -> None:
    """Trace a deep copy: tracing may touch module state, the checked model stays pristine."""
    module = spec.build(copy.deepcopy(model)).eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            spec.example(2, 3),
            str(path),
            input_names=spec.inputs,
            output_names=spec.outputs,
            dynamic_axes=spec.dynamic_axes(),
            opset_version=OPSET,
            dynamo=False,
        )
        example = module(*spec.example(2, 3))
    _pin_static_output_dims(path, spec, example if isinstance(example, tuple) else (example,))


def _pin_static_output_dims(path: Path, spec: GraphSpec, example: tuple[torch.Tensor, ...]):
    """The tracer leaves some static output dims symbolic (after a concat): write them down."""
    graph = onnx.load(str(path))
    for output, tensor in zip(graph.graph.output, example, strict=True):
        dynamic = spec.dynamic_axes()[output.name]
        for axis, dim in enumerate(output.type.tensor_type.shape.dim):
            if axis not in dynamic:
                dim.Clear()
                dim.dim_value = int(tensor.shape[axis])
            elif not dim.dim_param:
                dim.dim_param = dynamic[axis]
    onnx.checker.check_model(graph)
    _check_signature(graph.graph, spec)
    onnx.save(graph, str(path))


_ONNX_TYPES = {
    onnx.TensorProto.FLOAT: "TYPE_FP32",
    onnx.TensorProto.FLOAT16: "TYPE_FP16",
    onnx.TensorProto.INT32: "TYPE_INT32",
    onnx.TensorProto.INT64: "TYPE_INT64",
}


def _check_signature(graph: onnx.GraphProto, spec: GraphSpec) -> None:
    """The graph's inputs and outputs are exactly the contract's (names, dtypes, row shapes)."""
    initializers = {init.name for init in graph.initializer}

    def described(values) -> list[tuple[str, str, tuple[int, ...]]]:
        result = []
        for value in values:
            tensor = value.type.tensor_type
            dims = tuple(ANY if d.dim_param else d.dim_value for d in tensor.shape.dim)
            result.append((value.name, _ONNX_TYPES.get(tensor.elem_type, "?"), dims))
        return result

    actual = described(v for v in graph.input if v.name not in initializers)
    actual += described(graph.output)
    tensors = (*spec.signature.inputs, *spec.signature.outputs)
    wanted = [(s.name, s.dtype, (ANY, *s.dims)) for s in tensors]  # a symbolic batch axis first
    if actual != wanted:
        raise AsenError(f"exported {spec.name} has tensors {actual}, the contract says {wanted}")


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
