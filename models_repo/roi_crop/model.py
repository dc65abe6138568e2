"""Triton Python-backend model `roi_crop`: attention map -> RoI box -> crop -> local input.

The box comes from the contract's `attention_boxes`, the one implementation shared with training
and the in-process embedder; the crop is taken from the original image, which is decoded again
from the IMAGE bytes (see docs/triton.md for why that beats passing the decoded image through the
ensemble). On a CPU instance everything is numpy. On a GPU instance the attention map arrives on
the device through DLPack, the boxes are computed there with torch, and the local tensors are
returned on the device.

The `preprocess` parameter (`asen export --gpu-preprocess`, `--cpu-preprocess`): `exact` decodes
and crops with Pillow on the CPU; `fast` decodes JPEGs at a reduced DCT scale chosen so that
every box keeps at least L pixels (`asen_contract.fast_preprocess`, not bit-exact; the boxes are
the same); `device` decodes with nvImageCodec (Pillow when absent) and crops and resizes with
torch on the instance's device (`asen_contract.resample`, exact to Pillow's weights). A
global-only model reads only the image headers in `exact` and `fast`: its boxes need the sizes
alone.
"""

from __future__ import annotations

import json

import numpy as np
import triton_python_backend_utils as pb_utils

import asen_contract
from asen_contract import fast_preprocess, resample, tensors
from asen_contract.device_decode import DeviceDecoder
from asen_contract.images import decode_image, inspect_image
from asen_contract.model_info import ModelInfo
from asen_contract.roi import local_input, source_boxes


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.info = ModelInfo.from_triton_config(args["model_config"])
        self.limits = self.info.image_limits
        parameters = json.loads(args["model_config"]).get("parameters", {})
        self.mode = parameters.get("preprocess", {}).get("string_value", "exact")
        self.torch = self.device = self.decoder = None
        on_gpu = args.get("model_instance_kind") == "GPU"
        if on_gpu or self.mode == "device":
            import torch  # the gpu target or the device path: the cpu target needs numpy alone

            self.torch = torch
            index = int(args.get("model_instance_device_id", 0))
            self.device = torch.device(f"cuda:{index}" if on_gpu else "cpu")
        if self.mode == "device":
            self.decoder = DeviceDecoder(self.device, self.limits)
        pb_utils.Logger.log_info(
            f"roi_crop: asen_contract from {asen_contract.__file__}; pre-processing {self.mode}"
            + (f" ({self.decoder.backend} on {self.device})" if self.decoder else "")
        )

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
        """[B, K, h, w]: numpy without torch, a torch tensor on the instance's device otherwise."""
        tensor = pb_utils.get_input_tensor_by_name(request, tensors.ATTENTION)
        if self.torch is None:
            return tensor.as_numpy()
        if tensor.is_cpu():
            return self.torch.from_numpy(tensor.as_numpy()).to(self.device)
        return self.torch.from_dlpack(tensor.to_dlpack()).to(self.device)

    def _one(self, request) -> object:
        info = self.info
        images = pb_utils.get_input_tensor_by_name(request, tensors.IMAGE).as_numpy().reshape(-1)
        blobs = [bytes(encoded) for encoded in images]
        attention = self._attention(request)
        batch, count = attention.shape[:2]
        if self.decoder is not None:
            pixels = self.decoder.decode(blobs)
            sizes = [(int(p.shape[2]), int(p.shape[1])) for p in pixels]
        elif self.mode == "fast" or not info.local_size:  # decoded per box, or not at all
            headers = [inspect_image(encoded, self.limits) for encoded in blobs]
            pixels, sizes = blobs, [(header.width, header.height) for header in headers]
        else:
            pixels = [decode_image(encoded, self.limits) for encoded in blobs]
            sizes = [image.size for image in pixels]
        rois = source_boxes(attention, sizes, info.global_size, info.threshold)
        roi = np.asarray(rois, dtype=np.float32).reshape(batch, count, 4)
        outputs = [pb_utils.Tensor(tensors.ROI, roi)]
        if info.local_size:
            crops = [self._crops(image, boxes) for image, boxes in zip(pixels, rois, strict=True)]
            outputs.append(self._local_image(crops))
        return pb_utils.InferenceResponse(output_tensors=outputs)

    def _crops(self, image, boxes):
        if self.mode == "fast":  # `image` is the encoded bytes
            size = self.info.local_size
            return np.stack(fast_preprocess.local_inputs(image, boxes, size, self.limits))
        if self.decoder is not None:
            return self.torch.stack(
                [resample.local_input(image, b, self.info.local_size) for b in boxes]
            )
        return np.stack([local_input(image, b, self.info.local_size) for b in boxes])

    def _local_image(self, crops):
        torch = self.torch
        if self.decoder is not None:
            local = torch.stack(crops)
        else:
            local = np.stack(crops)
            if torch is None:
                return pb_utils.Tensor(tensors.LOCAL_IMAGE, local)
            local = torch.from_numpy(local).to(self.device)
        if local.device.type == "cpu":
            return pb_utils.Tensor(tensors.LOCAL_IMAGE, local.numpy())
        torch.cuda.current_stream(local.device).synchronize()  # complete before Triton reads it
        dlpack = torch.utils.dlpack.to_dlpack(local)
        return pb_utils.Tensor.from_dlpack(tensors.LOCAL_IMAGE, dlpack)
