"""One interface over onnxruntime and OpenVINO for running an exported graph on the CPU.

Both runtimes read the same ONNX file (float32 or INT8 QDQ). Settings shared by both:
- `threads`: intra-op threads of one call (the benchmark picks the best count);
- worker threads never spin or pin to cores: several Triton model processes (and on a
  development machine other programs) share the cores, and a spinning or pinned pool steals
  them from the others;
- OpenVINO runs in float32 (`INFERENCE_PRECISION_HINT` f32): on CPUs with BF16 units its default
  may be bf16, which moves the attention map and so the RoI box.

The export copies this file beside the cpu-target runner (`models_repo/onnx_runner`) as
`graph_sessions.py`, so it imports nothing from the project at load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import numpy as np

RUNTIMES = ("onnxruntime", "openvino")


class GraphSession(Protocol):
    """A loaded graph: `run` takes feeds by input name, returns outputs in `outputs` order."""

    inputs: list[str]
    outputs: list[str]

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]: ...


class OnnxRuntimeSession:
    def __init__(self, path: Path, threads: int) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [value.name for value in self.session.get_inputs()]
        self.outputs = [value.name for value in self.session.get_outputs()]

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(self.outputs, dict(feeds))


class OpenVinoSession:
    def __init__(self, path: Path, threads: int) -> None:
        import openvino

        config = {
            "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": 1,
            "ENABLE_CPU_PINNING": False,
        }
        compiled = openvino.Core().compile_model(str(path), "CPU", config)
        self.request = compiled.create_infer_request()
        self.inputs = [port.get_any_name() for port in compiled.inputs]
        self.outputs = [port.get_any_name() for port in compiled.outputs]

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        self.request.infer({name: np.ascontiguousarray(feeds[name]) for name in self.inputs})
        # The request reuses its output buffers on the next call: hand out copies.
        return [self.request.get_output_tensor(i).data.copy() for i in range(len(self.outputs))]


def open_session(path: Path, runtime: str = "onnxruntime", threads: int = 0) -> GraphSession:
    """Load an ONNX graph with `runtime`; threads = 0 lets the runtime choose."""
    if runtime == "onnxruntime":
        return OnnxRuntimeSession(Path(path), threads)
    if runtime == "openvino":
        return OpenVinoSession(Path(path), threads)
    from asen_contract.errors import ConfigError  # here: the served copy never gets this far

    raise ConfigError(f"unknown runtime {runtime!r}; choose from {', '.join(RUNTIMES)}")
