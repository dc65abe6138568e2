"""Triton Python-backend model `roi_crop`: attention map -> RoI box -> crop -> local input.

The box comes from the contract's `attention_boxes`, the one implementation shared with training
and the in-process embedder; the crop is taken from the original image, which is decoded again
from the IMAGE bytes (see docs/triton.md for why that beats passing the decoded image through the
ensemble). On a CPU instance everything is numpy. On a GPU instance the attention map arrives on
the device through DLPack, the boxes are computed there with torch, and the local tensors are
returned on the device.
"""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils

import asen_contract
from asen_contract import tensors
from asen_contract.images import decode_image
from asen_contract.model_info import ModelInfo
from asen_contract.roi import SquareBox, attention_boxes, box_in_source, local_input


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.info = ModelInfo.from_triton_config(args["model_config"])
        self.limits = self.info.image_limits
        self.torch = self.device = None
        if args.get("model_instance_kind") == "GPU":
            import torch  # the gpu target only: the cpu target needs numpy and Pillow alone

            self.torch = torch
            self.device = torch.device(f"cuda:{int(args.get('model_instance_device_id', 0))}")
        pb_utils.Logger.log_info(f"roi_crop: asen_contract from {asen_contract.__file__}")

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            try:
                responses.append(self._one(request))
            except Exception as error:  # one bad request must not fail its batch
                message = f"roi_crop: {type(error).__name__}: {error}"
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(message)))
        return responses

    def _attention(self, request):
        """[B, K, h, w]: numpy on a CPU instance, a torch tensor on the GPU otherwise."""
        tensor = pb_utils.get_input_tensor_by_name(request, tensors.ATTENTION)
        if self.torch is None:
            return tensor.as_numpy()
        if tensor.is_cpu():
            return self.torch.from_numpy(tensor.as_numpy()).to(self.device)
        return self.torch.from_dlpack(tensor.to_dlpack()).to(self.device)

    def _one(self, request) -> object:
        info = self.info
        size = info.global_size
        images = pb_utils.get_input_tensor_by_name(request, tensors.IMAGE).as_numpy().reshape(-1)
        attention = self._attention(request)
        batch, count, height, width = attention.shape
        flat = attention.reshape(batch * count, height, width)
        squares = attention_boxes(flat, size, info.threshold).tolist()
        rois, crops = [], []
        for row, encoded in enumerate(images):
            image = decode_image(bytes(encoded), self.limits)
            row_squares = squares[row * count : (row + 1) * count]
            boxes = [box_in_source(SquareBox(*s), image.size, size) for s in row_squares]
            rois.append(boxes)
            if info.local_size:
                crops.append(np.stack([local_input(image, b, info.local_size) for b in boxes]))
        roi = np.asarray(rois, dtype=np.float32).reshape(batch, count, 4)
        outputs = [pb_utils.Tensor(tensors.ROI, roi)]
        if info.local_size:
            local = np.stack(crops)
            if self.torch is not None:
                on_device = self.torch.from_numpy(local).to(self.device)  # complete before read
                dlpack = self.torch.utils.dlpack.to_dlpack(on_device)
                outputs.append(pb_utils.Tensor.from_dlpack(tensors.LOCAL_IMAGE, dlpack))
            else:
                outputs.append(pb_utils.Tensor(tensors.LOCAL_IMAGE, local))
        return pb_utils.InferenceResponse(output_tensors=outputs)
