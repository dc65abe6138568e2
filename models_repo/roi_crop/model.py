"""Triton Python-backend model `roi_crop`: attention map -> RoI box -> crop -> local input.

The box comes from `attention_boxes`, the one implementation shared with training and the
in-process embedder; the crop is taken from the original image, which is decoded again from the
IMAGE bytes (see docs/triton.md for why that beats passing the decoded image through the
ensemble). On a GPU instance the attention map arrives on the device through DLPack, the boxes
are computed there, and the local tensors are returned on the device.
"""

from __future__ import annotations

import json

import asen_runtime.pythonpath  # noqa: F401  (first: makes $PYTHONPATH visible)
import numpy as np
import torch
import triton_python_backend_utils as pb_utils
from asen_runtime.preprocess import decode_image
from asen_runtime.roi import SquareBox, attention_boxes, box_in_source, local_tensor


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        parameters = json.loads(args["model_config"])["parameters"]
        self.global_size = int(parameters["global_size"]["string_value"])
        self.local_size = int(parameters["local_size"]["string_value"])  # 0: global-only model
        self.threshold = float(parameters["threshold"]["string_value"])
        self.max_pixels = int(parameters["max_image_pixels"]["string_value"])
        on_gpu = args.get("model_instance_kind") == "GPU"
        device_id = int(args.get("model_instance_device_id", 0))
        self.device = torch.device(f"cuda:{device_id}" if on_gpu else "cpu")

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            try:
                responses.append(self._one(request))
            except Exception as error:  # one bad request must not fail its batch
                message = f"roi_crop: {type(error).__name__}: {error}"
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(message)))
        return responses

    def _attention(self, request) -> torch.Tensor:
        tensor = pb_utils.get_input_tensor_by_name(request, "ATTENTION")
        if tensor.is_cpu():
            return torch.from_numpy(tensor.as_numpy()).to(self.device)
        return torch.from_dlpack(tensor.to_dlpack()).to(self.device)

    def _one(self, request) -> object:
        images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy().reshape(-1)
        attention = self._attention(request)  # [B, K, h, w]
        batch, count = attention.shape[:2]
        squares = attention_boxes(attention.flatten(0, 1), self.global_size, self.threshold)
        squares = squares.view(batch, count, 3).cpu().tolist()
        rois, crops = [], []
        for encoded, row in zip(images, squares, strict=True):
            image = decode_image(bytes(encoded), self.max_pixels)
            boxes = [box_in_source(SquareBox(*s), image.size, self.global_size) for s in row]
            rois.append(boxes)
            if self.local_size:
                crops.append(torch.stack([local_tensor(image, b, self.local_size) for b in boxes]))
        outputs = [
            pb_utils.Tensor("ROI", np.asarray(rois, dtype=np.float32).reshape(batch, count, 4))
        ]
        if self.local_size:
            local = torch.stack(crops).contiguous()
            if self.device.type == "cuda":
                local = local.to(self.device)  # blocking: complete before Triton reads it
                outputs.append(pb_utils.Tensor.from_dlpack("LOCAL_IMAGE", torch.to_dlpack(local)))
            else:
                outputs.append(pb_utils.Tensor("LOCAL_IMAGE", local.numpy()))
        return pb_utils.InferenceResponse(output_tensors=outputs)
