"""Triton Python-backend model `preprocess`: decode, check, and make the global branch's input.

Per request row: IMAGE (encoded bytes) -> GLOBAL_IMAGE [3,S,S] (the contract's decoder and image
limits, then the official resize + centre crop + ImageNet norm); ATTRIBUTE [K] -> ATTRIBUTE_IDS
[K] after a range check, so the native graphs downstream never see a bad id (a bad Gather index
would fail every request of a batch). A bad request gets its own INVALID_ARG error response; the
other requests of the batch are unaffected.
"""

from __future__ import annotations

import numpy as np
import triton_python_backend_utils as pb_utils

import asen_contract
from asen_contract import tensors
from asen_contract.errors import InvalidInput
from asen_contract.images import decode_image
from asen_contract.model_info import ModelInfo
from asen_contract.preprocess import global_input


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.info = ModelInfo.from_triton_config(args["model_config"])
        self.limits = self.info.image_limits
        pb_utils.Logger.log_info(f"preprocess: asen_contract from {asen_contract.__file__}")

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
        inputs = []
        for row, encoded in enumerate(images.reshape(-1)):
            try:
                image = decode_image(bytes(encoded), self.limits)
            except InvalidInput as error:
                raise type(error)(f"{tensors.IMAGE} row {row}: {error}") from error
            inputs.append(global_input(image, self.info.global_size))
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor(tensors.GLOBAL_IMAGE, np.stack(inputs)),
                pb_utils.Tensor(tensors.ATTRIBUTE_IDS, ids.astype(np.int32)),
            ]
        )
