"""Triton Python-backend model that runs one exported branch graph with onnxruntime (cpu target).

Used for `global_backbone`, `global_head` and `local_branch` when Triton has no onnxruntime
backend (the `nvidia-pytriton` build). Requests delivered together by the dynamic batcher are
concatenated along the batch axis (grouped by their non-batch shapes, so rows with different K
never mix) and run as one onnxruntime call.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnxruntime
import triton_python_backend_utils as pb_utils

_LEVELS = {
    "disable": onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL,
}


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        parameters = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(parameters.get("intra_op_threads", "0"))
        options.inter_op_num_threads = int(parameters.get("inter_op_threads", "1"))
        options.graph_optimization_level = _LEVELS[parameters.get("graph_optimization", "all")]
        # Several branch processes share the cores: spinning worker threads would steal them.
        spinning = parameters.get("allow_spinning", "0")
        options.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        self.session = onnxruntime.InferenceSession(
            path, options, providers=["CPUExecutionProvider"]
        )
        self.inputs = [tensor["name"] for tensor in config["input"]]
        self.outputs = [tensor["name"] for tensor in config["output"]]

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
            except Exception as error:  # onnxruntime failure: fail only this group
                for index in members:
                    responses[index] = pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(f"onnxruntime: {error}")
                    )
        return responses

    def _run_group(self, members: list[int], arrays: list, responses: list) -> None:
        feeds = {
            name: np.concatenate([arrays[i][position] for i in members])
            for position, name in enumerate(self.inputs)
        }
        results = self.session.run(self.outputs, feeds)
        start = 0
        for index in members:
            rows = arrays[index][0].shape[0]
            tensors = [
                pb_utils.Tensor(name, np.ascontiguousarray(result[start : start + rows]))
                for name, result in zip(self.outputs, results, strict=True)
            ]
            responses[index] = pb_utils.InferenceResponse(output_tensors=tensors)
            start += rows
