"""The three ways the served pre-processing can run, behind one interface for `GraphPipeline`.

- `ExactPreprocessing`: Pillow decode, resize and crop (`asen_contract.images`, `.preprocess`,
  `.roi`): the reference, the cpu target and the gpu target's default (`--gpu-preprocess exact`).
- `FastPreprocessing`: JPEGs decoded at a reduced DCT scale per use
  (`asen_contract.fast_preprocess`): `--cpu-preprocess fast`, opt-in, not bit-exact.
- `DevicePreprocessing`: nvImageCodec decode (Pillow when absent) and torch resize and crop on a
  device (`asen_contract.device_decode`, `.resample`): the gpu target's `--gpu-preprocess device`,
  here on any torch device (the CPU where there is no GPU).

An "image" is whatever `decode` returns (a PIL image, the checked encoded bytes, or a [3, H, W]
uint8 tensor); the inputs come back as numpy float32 for the graph sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from asen_contract import fast_preprocess, preprocess, resample, roi
from asen_contract.images import ImageLimits, decode_image, decode_reduced, inspect_image
from asen_contract.roi import SourceBox

DEFAULT_LIMITS = ImageLimits()


class ExactPreprocessing:
    name = "exact"

    def __init__(self, limits: ImageLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    def decode(self, data: bytes) -> Any:
        return decode_image(data, self.limits)

    def size(self, image) -> tuple[int, int]:
        return image.size

    def global_input(self, image, size: int) -> np.ndarray:
        return preprocess.global_input(image, size)

    def local_input(self, image, box: SourceBox, size: int) -> np.ndarray:
        return roi.local_input(image, box, size)

    def local_inputs(self, image, boxes: list[SourceBox], size: int) -> list[np.ndarray]:
        """The local inputs of all the boxes of one image (what `roi_crop` computes)."""
        return [self.local_input(image, box, size) for box in boxes]

    def global_pixels(self, image, size: int) -> np.ndarray:
        """The resized, centre-cropped 8-bit pixels [3, size, size] (before normalisation)."""
        return _cropped_pixels(image, size)


@dataclass(frozen=True)
class EncodedImage:
    """An image whose header has been checked; the fast path decodes it per use."""

    data: bytes
    width: int
    height: int


class FastPreprocessing:
    name = "fast"

    def __init__(self, limits: ImageLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits

    def decode(self, data: bytes) -> EncodedImage:
        header = inspect_image(data, self.limits)
        return EncodedImage(data, header.width, header.height)

    def size(self, image: EncodedImage) -> tuple[int, int]:
        return image.width, image.height

    def global_input(self, image: EncodedImage, size: int) -> np.ndarray:
        return fast_preprocess.global_input(image.data, size, self.limits)

    def local_input(self, image: EncodedImage, box: SourceBox, size: int) -> np.ndarray:
        """`box` alone, decoded at the scale this box allows (`local_inputs` decodes at the
        scale the smallest of the image's boxes allows, like `roi_crop`)."""
        return fast_preprocess.local_inputs(image.data, [box], size, self.limits)[0]

    def local_inputs(
        self, image: EncodedImage, boxes: list[SourceBox], size: int
    ) -> list[np.ndarray]:
        """The local inputs of all the boxes of one image, from one decode (as `roi_crop`)."""
        return fast_preprocess.local_inputs(image.data, boxes, size, self.limits)

    def global_pixels(self, image: EncodedImage, size: int) -> np.ndarray:
        reduced, _ = decode_reduced(image.data, self.limits, (size, size))
        return _cropped_pixels(reduced, size)


class DevicePreprocessing:
    name = "device"

    def __init__(
        self, device: str = "cpu", limits: ImageLimits = DEFAULT_LIMITS, use_nvimgcodec: bool = True
    ) -> None:
        from asen_contract.device_decode import DeviceDecoder

        self.decoder = DeviceDecoder(device, limits, use_nvimgcodec)

    def decode(self, data: bytes) -> Any:
        return self.decoder.decode([data])[0]

    def size(self, image) -> tuple[int, int]:
        return int(image.shape[2]), int(image.shape[1])

    def global_input(self, image, size: int) -> np.ndarray:
        return resample.global_input(image, size).cpu().numpy()

    def local_input(self, image, box: SourceBox, size: int) -> np.ndarray:
        return resample.local_input(image, box, size).cpu().numpy()

    def local_inputs(self, image, boxes: list[SourceBox], size: int) -> list[np.ndarray]:
        return [self.local_input(image, box, size) for box in boxes]

    def global_pixels(self, image, size: int) -> np.ndarray:
        pixels = resample.resize_shorter_side(image, size, crop=size)
        return pixels.cpu().numpy().astype(np.uint8)


def _cropped_pixels(image, size: int) -> np.ndarray:
    """A PIL image resized and centre-cropped as the global input, as 8-bit [3, size, size]."""
    cropped = preprocess.center_crop(preprocess.resize_shorter_side(image, size), size)
    return np.asarray(cropped).transpose(2, 0, 1)
