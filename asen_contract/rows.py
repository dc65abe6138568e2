"""The served models' per-row global inputs: one place that chooses exact or fast and names the
row of a bad image (`preprocess` and the single-model layout's `asen` both call it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from asen_contract import fast_preprocess, tensors
from asen_contract.errors import InvalidInput
from asen_contract.images import ImageLimits, decode_image
from asen_contract.preprocess import global_input


def global_inputs(
    blobs: list[bytes], size: int, limits: ImageLimits, mode: str
) -> tuple[list[np.ndarray], list[Any]]:
    """([3, S, S] float32 per row, what each row's crops can reuse): exact, the decoded image;
    fast, (the bytes, the reduced-scale decode). InvalidInput names the row."""
    inputs, decoded = [], []
    for row, encoded in enumerate(blobs):
        try:
            if mode == "fast":
                array, image = fast_preprocess.global_input_and_image(encoded, size, limits)
                decoded.append((encoded, image))
            else:
                image = decode_image(encoded, limits)
                array = global_input(image, size)
                decoded.append(image)
        except InvalidInput as error:
            raise type(error)(f"{tensors.IMAGE} row {row}: {error}") from error
        inputs.append(array)
    return inputs, decoded
