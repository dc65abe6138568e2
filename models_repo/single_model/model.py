"""Triton Python-backend model `asen` of the cpu target's single-model layout
(`asen export --cpu-layout single`): every step of the ensemble in one process.

The same public tensors as the ensemble (IMAGE, ATTRIBUTE -> EMBEDDING, ROI, ATTENTION) and the
same steps, in the same code: the contract's decoder and pre-processing (exact or fast, the
`preprocess` parameter), the three exported graphs (`graph_sessions`, onnxruntime or OpenVINO),
the contract's attention box and crop. What changes is where they run: one stub process per
instance instead of five models, so a request crosses the Python backend's shared memory once,
the image is decoded once (exact) and the dynamic batcher's requests run through every graph as
one batch (the graphs' best batch size on a CPU, docs/runtimes.md). Requests are grouped by
their attribute count K (the head's batch needs one K): Triton's dynamic batcher puts only
requests of one K in a batch (ATTRIBUTE's variable dimension, no ragged batching), so there is
one group unless that changes. A bad request gets its own INVALID_ARG response and the others of
the batch are unaffected; a failure in a group's run fails that group's requests alone.
"""

from __future__ import annotations

import json
import os

import numpy as np
import triton_python_backend_utils as pb_utils
from graph_sessions import open_session

import asen_contract
from asen_contract import fast_preprocess, tensors
from asen_contract.errors import InvalidInput
from asen_contract.images import inspect_image
from asen_contract.model_info import ModelInfo
from asen_contract.roi import local_input, source_boxes
from asen_contract.rows import global_inputs


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        parameters = {k: v["string_value"] for k, v in config.get("parameters", {}).items()}
        self.info = ModelInfo.from_triton_config(config)
        self.limits = self.info.image_limits
        self.mode = parameters.get("preprocess", "exact")
        folder = os.path.join(args["model_repository"], args["model_version"])
        runtime = parameters.get("runtime", "onnxruntime")
        threads = int(parameters.get("threads", "0"))
        graphs = [tensors.GLOBAL_BACKBONE, tensors.GLOBAL_HEAD]
        if self.info.local_size:
            graphs.append(tensors.LOCAL_BRANCH)
        self.sessions = {  # global_head: 1 thread, as in the ensemble
            name: open_session(
                os.path.join(folder, f"{name}.onnx"),
                runtime,
                1 if name == tensors.GLOBAL_HEAD else threads,
            )
            for name in graphs
        }
        self.runtime = runtime
        pb_utils.Logger.log_info(
            f"asen (single model): asen_contract from {asen_contract.__file__}; "
            f"{runtime}, {threads} threads, pre-processing {self.mode}"
        )

    def execute(self, requests: list) -> list:
        responses: list = [None] * len(requests)
        groups: dict[int, list] = {}
        for index, request in enumerate(requests):
            try:
                blobs, ids, images, inputs = self._read(request)
            except InvalidInput as error:  # the client's fault: INVALID_ARG, not INTERNAL
                error = pb_utils.TritonError(str(error), pb_utils.TritonError.INVALID_ARG)
                responses[index] = pb_utils.InferenceResponse(error=error)
                continue
            groups.setdefault(ids.shape[1], []).append((index, blobs, ids, images, inputs))
        for members in groups.values():
            try:
                self._run(members, responses)
            except Exception as error:  # a runtime failure: fail only this group
                message = f"{self.runtime}: {type(error).__name__}: {error}"
                for index, *_ in members:
                    responses[index] = pb_utils.InferenceResponse(
                        error=pb_utils.TritonError(message)
                    )
        return responses

    def _read(self, request) -> tuple:
        """(blobs, ids [B, K], decoded images or blobs, global inputs [B, 3, S, S])."""
        images = pb_utils.get_input_tensor_by_name(request, tensors.IMAGE).as_numpy()
        ids = pb_utils.get_input_tensor_by_name(request, tensors.ATTRIBUTE).as_numpy()
        self.info.check_attribute_ids(ids)
        blobs = [bytes(encoded) for encoded in images.reshape(-1)]
        ids = ids.astype(np.int32).reshape(len(blobs), -1)
        inputs, decoded = global_inputs(blobs, self.info.global_size, self.limits, self.mode)
        return blobs, ids, decoded, np.stack(inputs)

    def _run(self, members: list, responses: list) -> None:
        info, sessions = self.info, self.sessions
        ids = np.concatenate([m[2] for m in members])
        images = [image for m in members for image in m[3]]
        features = sessions[tensors.GLOBAL_BACKBONE].run(
            {tensors.GLOBAL_IMAGE: np.concatenate([m[4] for m in members])}
        )[0]
        head_embedding, attention = sessions[tensors.GLOBAL_HEAD].run(
            {tensors.FEATURES: features, tensors.ATTRIBUTE: ids}
        )
        sizes = [self._size(image) for image in images]
        rois = source_boxes(attention, sizes, info.global_size, info.threshold)
        roi = np.asarray(rois, dtype=np.float32).reshape(*ids.shape, 4)
        embedding = head_embedding
        if info.local_size:
            crops = [self._crops(image, boxes) for image, boxes in zip(images, rois, strict=True)]
            embedding = sessions[tensors.LOCAL_BRANCH].run(
                {
                    tensors.LOCAL_IMAGE: np.stack(crops),
                    tensors.ATTRIBUTE: ids,
                    tensors.GLOBAL_EMBEDDING: head_embedding,
                }
            )[0]
        outputs = [
            (tensors.EMBEDDING, embedding),
            (tensors.ROI, roi),
            (tensors.ATTENTION, attention),
        ]
        start = 0
        for index, blobs, *_ in members:
            rows = slice(start, start + len(blobs))
            start += len(blobs)
            responses[index] = pb_utils.InferenceResponse(
                output_tensors=[
                    pb_utils.Tensor(name, np.ascontiguousarray(array[rows]))
                    for name, array in outputs
                ]
            )

    def _size(self, image) -> tuple[int, int]:
        if self.mode == "fast":
            header = inspect_image(image[0], self.limits)
            return header.width, header.height
        return image.size

    def _crops(self, image, boxes) -> np.ndarray:
        size = self.info.local_size
        if self.mode == "fast":
            encoded, decoded = image
            crops = fast_preprocess.local_inputs(encoded, boxes, size, self.limits, decoded)
            return np.stack(crops)
        return np.stack([local_input(image, box, size) for box in boxes])
