"""Triton Python-backend model `preprocess`: decode, check, and make the global branch's input.

Per request row: IMAGE (encoded bytes) -> GLOBAL_IMAGE [3,S,S] (official resize + centre crop +
ImageNet norm); ATTRIBUTE [K] -> ATTRIBUTE_IDS [K] after a range check, so the native graphs
downstream never see a bad id (a bad Gather index would fail every request of a batch).
A bad request gets its own error response; the other requests of the batch are unaffected.
"""

from __future__ import annotations

import json

import asen_runtime.pythonpath  # noqa: F401  (first: makes $PYTHONPATH visible)
import numpy as np
import triton_python_backend_utils as pb_utils
from asen_runtime.errors import ImageError
from asen_runtime.preprocess import decode_image, global_tensor


class RequestError(Exception):
    """A problem with one request, reported to its client only."""


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        parameters = json.loads(args["model_config"])["parameters"]
        self.global_size = int(parameters["global_size"]["string_value"])
        self.num_attributes = int(parameters["num_attributes"]["string_value"])
        self.max_pixels = int(parameters["max_image_pixels"]["string_value"])

    def execute(self, requests: list) -> list:
        responses = []
        for request in requests:
            try:
                responses.append(self._one(request))
            except RequestError as error:  # the client's fault: INVALID_ARG, not INTERNAL
                error = pb_utils.TritonError(str(error), pb_utils.TritonError.INVALID_ARG)
                responses.append(pb_utils.InferenceResponse(error=error))
        return responses

    def _one(self, request) -> object:
        images = pb_utils.get_input_tensor_by_name(request, "IMAGE").as_numpy()
        ids = pb_utils.get_input_tensor_by_name(request, "ATTRIBUTE").as_numpy()
        if ids.shape[-1] == 0:
            raise RequestError("ATTRIBUTE is empty: ask for at least one attribute id")
        bad = ids[(ids < 0) | (ids >= self.num_attributes)]
        if bad.size:
            raise RequestError(
                f"attribute id {int(bad[0])} is out of range: this model has "
                f"{self.num_attributes} attributes (ids 0..{self.num_attributes - 1})"
            )
        tensors = []
        for row, encoded in enumerate(images.reshape(-1)):
            try:
                image = decode_image(bytes(encoded), self.max_pixels)
            except ImageError as error:
                raise RequestError(f"IMAGE row {row}: {error}") from error
            tensors.append(global_tensor(image, self.global_size).numpy())
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor("GLOBAL_IMAGE", np.stack(tensors).astype(np.float32)),
                pb_utils.Tensor("ATTRIBUTE_IDS", ids.astype(np.int32)),
            ]
        )
