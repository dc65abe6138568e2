"""Triton Python-backend model that runs one exported branch graph on the CPU (cpu target):
onnxruntime or OpenVINO, chosen at export (`runtime` parameter), float32 or INT8 graph alike.

Used for `global_backbone`, `global_head` and `local_branch` when Triton has no onnxruntime
backend (the `nvidia-pytriton` build). The session comes from `graph_sessions` (a copy of
`asen/runtimes/sessions.py` placed beside this file at export), the same code the export's parity
checks and the benchmarks run. Requests delivered together by the dynamic batcher are
concatenated along the batch axis (grouped by their non-batch shapes, so rows with different K
never mix) and run as one call.
"""

from __future__ import annotations

import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils
from graph_sessions import open_session


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        parameters = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        self.runtime = parameters.get("runtime", "onnxruntime")
        self.session = open_session(path, self.runtime, int(parameters.get("threads", "0")))
        self.inputs = [tensor["name"] for tensor in config["input"]]
        self.outputs = self.session.outputs

    def execute(self, requests: list) -> list:
        responses: list = [None] * len(requests)
        groups: dict[tuple, list[int]] = {}
        arrays = []
        for index, request in enumerate(requests):
            feeds = [pb_utils.get_input_tensor_by_name(request, n).as_numpy() for n in self.inputs]
            arrays.append(feeds)
            groups.setdefault(tuple(a.shape[1:] for a in feeds), []).append(index)
        for members in groups.values():
            try:
                self._run_group(members, arrays, responses)
            except Exception as error:  # a runtime failure: fail only this group
                for index in members:
                    responses[index] = pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(f"{self.runtime}: {error}")
                    )
        return responses

    def _run_group(self, members: list[int], arrays: list, responses: list) -> None:
        feeds = {
            name: _rows([arrays[i][position] for i in members])
            for position, name in enumerate(self.inputs)
        }
        results = self.session.run(feeds)
        start = 0
        for index in members:
            rows = arrays[index][0].shape[0]
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(result[start : start + rows]))
                for name, result in zip(self.outputs, results, strict=True)
            ]
            responses[index] = pb_utils.InferenceResponse(output_tensors=tensors)
            start += rows


def _rows(arrays: list[np.ndarray]) -> np.ndarray:
    """The requests' rows as one array: a lone request's input as it is (no copy)."""
    if len(arrays) == 1:
        return np.ascontiguousarray(arrays[0])
    return np.concatenate(arrays)
