"""Triton Python-backend model `preprocess`: decode, check, and make the global branch's input.

Per request row: IMAGE (encoded bytes) -> GLOBAL_IMAGE [3,S,S] (the contract's decoder and image
limits, then the official resize + centre crop + ImageNet norm); ATTRIBUTE [K] -> ATTRIBUTE_IDS
[K] after a range check, so the native graphs downstream never see a bad id (a bad Gather index
would fail every request of a batch). A bad request gets its own INVALID_ARG error response; the
other requests of the batch are unaffected.

The `preprocess` parameter chooses how (`asen export --gpu-preprocess`, `--cpu-preprocess`):
`exact` decodes with Pillow and resizes with Pillow and numpy; `fast` decodes JPEGs at a reduced
DCT scale first (`asen_contract.fast_preprocess`, not bit-exact); `device` decodes with
nvImageCodec (Pillow when it is absent or refuses an image) and resizes with torch on the
instance's device (`asen_contract.resample`, Pillow's weights applied exactly), and on a GPU
instance returns GLOBAL_IMAGE on the GPU through DLPack.
"""

from __future__ import annotations

import json

import numpy as np
import triton_python_backend_utils as pb_utils

import asen_contract
from asen_contract import resample, tensors
from asen_contract.device_decode import DeviceDecoder
from asen_contract.errors import InvalidInput
from asen_contract.model_info import ModelInfo
from asen_contract.rows import global_inputs


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.info = ModelInfo.from_triton_config(args["model_config"])
        self.limits = self.info.image_limits
        parameters = json.loads(args["model_config"]).get("parameters", {})
        self.mode = parameters.get("preprocess", {}).get("string_value", "exact")
        self.torch = self.decoder = None
        backend = "pillow"
        if self.mode == "device":
            import torch  # the device path only: the exact path needs numpy and Pillow alone

            self.torch = torch
            device = "cpu"
            if args.get("model_instance_kind") == "GPU":
                device = f"cuda:{int(args.get('model_instance_device_id', 0))}"
            self.decoder = DeviceDecoder(device, self.limits)
            backend = f"{self.decoder.backend} on {device}"
        pb_utils.Logger.log_info(
            f"preprocess: asen_contract from {asen_contract.__file__}; "
            f"pre-processing {self.mode} ({backend})"
        )

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            try:
                responses.append(self._one(request))
            except InvalidInput as error:  # the client's fault: INVALID_ARG, not INTERNAL
                error = pb_utils.TritonError(str(error), pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
        return responses

    def _one(self, request) -> object:
        images = pb_utils.get_input_tensor_by_name(request, tensors.IMAGE).as_numpy()
        ids = pb_utils.get_input_tensor_by_name(request, tensors.ATTRIBUTE).as_numpy()
        self.info.check_attribute_ids(ids)
        blobs = [bytes(encoded) for encoded in images.reshape(-1)]
        if self.decoder is not None:
            global_image = self._on_device(blobs)
        else:
            global_image = pb_utils.Tensor(tensors.GLOBAL_IMAGE, self._on_cpu(blobs))
        return pb_utils.InferenceResponse(
            output_tensors=[
                global_image,
                pb_utils.Tensor(tensors.ATTRIBUTE_IDS, ids.astype(np.int32)),
            ]
        )

    def _on_cpu(self, blobs: list[bytes]) -> np.ndarray:
        """The exact path, or the fast one (`preprocess` fast): Pillow on the CPU either way."""
        size = self.info.global_size
        inputs, _ = global_inputs(blobs, size, self.limits, self.mode)
        return inputs[0][np.newaxis] if len(inputs) == 1 else np.stack(inputs)  # no copy for one

    def _on_device(self, blobs: list[bytes]):
        torch = self.torch
        try:
            pixels = self.decoder.decode(blobs)
        except InvalidInput as error:
            raise type(error)(f"{tensors.IMAGE} {error}") from error
        size = self.info.global_size
        batch = torch.stack([resample.global_input(p, size) for p in pixels])
        if batch.device.type == "cpu":
            return pb_utils.Tensor(tensors.GLOBAL_IMAGE, batch.numpy())
        torch.cuda.current_stream(batch.device).synchronize()  # complete before Triton reads it
        dlpack = torch.utils.dlpack.to_dlpack(batch)
        return pb_utils.Tensor.from_dlpack(tensors.GLOBAL_IMAGE, dlpack)
