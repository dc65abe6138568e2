"""FP16 emulation on the CPU: what running a graph in half precision (TensorRT FP16 on the gpu
target) does to the embeddings and RoI boxes, measured without a GPU.

A graph's PyTorch module runs with float16 weights and float16 tensors between its layers, as
TensorRT FP16 keeps them; PyTorch's CPU kernels compute inside each layer in float32 and round
the result, which is at least as accurate as FP16 tensor-core arithmetic with float32
accumulation. The figures are therefore a lower bound of the FP16 error on a GPU.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn


class TorchGraphSession:
    """A graph's PyTorch module behind the `GraphSession` interface, in float32 or float16."""

    def __init__(self, module: nn.Module, inputs: list[str], outputs: list[str], half: bool):
        self.module = (module.half() if half else module.float()).eval()
        self.inputs = inputs
        self.outputs = outputs
        self.half = half

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        tensors = []
        for name in self.inputs:
            tensor = torch.from_numpy(np.ascontiguousarray(feeds[name]))
            if self.half and tensor.is_floating_point():
                tensor = tensor.half()
            tensors.append(tensor)
        with torch.inference_mode():
            result = self.module(*tensors)
        result = result if isinstance(result, tuple) else (result,)
        return [tensor.float().numpy() for tensor in result]
