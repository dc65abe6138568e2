"""Encoded images -> RGB pixels on a torch device, for the device pre-processing
(`asen export --gpu-preprocess device`): nvImageCodec where it can, `decode_image` otherwise.

Every image is first checked from its header by `inspect_image` (formats and limits, the same
errors as everywhere else). Plain JPEGs (8-bit YCbCr or grayscale, not MPO, ending with the EOI
marker) are decoded by nvImageCodec when the package is installed (PyPI
`nvidia-nvimgcodec-cu12`; on a CUDA device with nvJPEG, the GPU decoder, on the CPU its
libjpeg-turbo backend), without applying the EXIF orientation (the official code does not).
Everything else (PNG, WebP, CMYK JPEGs, transparency, a truncated file, nvImageCodec absent or
refusing an image) goes through `decode_image` (Pillow) and is copied to the device, so the
accepted images and the colour rules are those of `asen_contract.images`.

nvJPEG's IDCT and chroma upsampling are not libjpeg-turbo's: GPU-decoded pixels may differ from
Pillow's by a few levels. That is why the device path is an export choice and the exact path
(Pillow on the CPU) the default. torch and nvImageCodec are imported when a decoder is made,
never by importing this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from asen_contract.errors import InvalidInput
from asen_contract.images import ImageLimits, decode_image, inspect_image

_NVIMGCODEC_MODES = ("RGB", "L")
_EOI = b"\xff\xd9"


class DeviceDecoder:
    """`decode(blobs)` -> one [3, H, W] uint8 tensor per image on `device`."""

    def __init__(self, device: Any, limits: ImageLimits, use_nvimgcodec: bool = True) -> None:
        import torch

        self.torch = torch
        self.device = torch.device(device)
        self.limits = limits
        self.codec = _nvimgcodec(self.device) if use_nvimgcodec else None
        self.decoded_by = {"nvimgcodec": 0, "pillow": 0}  # counts, for tests and logs

    @property
    def backend(self) -> str:
        """What decodes plain JPEGs: "nvimgcodec-gpu", "nvimgcodec-cpu" or "pillow"."""
        if self.codec is None:
            return "pillow"
        return f"nvimgcodec-{'gpu' if self.device.type == 'cuda' else 'cpu'}"

    def decode(self, blobs: Sequence[bytes]) -> list[Any]:
        """Header checks first (an InvalidInput names the row), then one batched decode."""
        headers = []
        for row, data in enumerate(blobs):
            try:
                headers.append(inspect_image(data, self.limits))
            except InvalidInput as error:
                raise type(error)(f"row {row}: {error}") from error
        chosen = [
            row
            for row, (data, header) in enumerate(zip(blobs, headers, strict=True))
            if self.codec is not None and _plain_jpeg(data, header)
        ]
        pixels: list[Any] = [None] * len(blobs)
        if chosen:
            for row, image in zip(
                chosen, self.codec.decode([blobs[r] for r in chosen]), strict=True
            ):
                if image is not None and tuple(image.shape[1:]) == (
                    headers[row].height,
                    headers[row].width,
                ):
                    pixels[row] = image
                    self.decoded_by["nvimgcodec"] += 1
        for row, data in enumerate(blobs):
            if pixels[row] is None:
                try:
                    image = decode_image(data, self.limits)
                except InvalidInput as error:
                    raise type(error)(f"row {row}: {error}") from error
                array = np.array(np.asarray(image).transpose(2, 0, 1), order="C")
                pixels[row] = self.torch.from_numpy(array).to(self.device)
                self.decoded_by["pillow"] += 1
        return pixels


def _plain_jpeg(data: bytes, header) -> bool:
    return (
        header.format == "JPEG"
        and header.mode in _NVIMGCODEC_MODES
        and data.rstrip(b"\x00")[-2:] == _EOI
    )


class _NvImageCodec:
    """nvImageCodec's batched decoder writing interleaved RGB, as [3, H, W] tensors."""

    def __init__(self, module, torch, device) -> None:
        self.module = module
        self.torch = torch
        self.device = device
        if device.type == "cuda":
            self.decoder = module.Decoder(device_id=device.index or 0)
        else:
            cpu = module.Backend(module.BackendKind.CPU_ONLY)
            self.decoder = module.Decoder(
                device_id=module.NVIMGCODEC_DEVICE_CPU_ONLY, backends=[cpu]
            )
        self.params = module.DecodeParams(
            apply_exif_orientation=False,
            color_spec=module.ColorSpec.SRGB,
            allow_any_depth=False,
            sample_format=module.SampleFormat.I_RGB,
        )

    def decode(self, blobs: list[bytes]) -> list[Any]:
        torch = self.torch
        streams = [self.module.CodeStream(data) for data in blobs]
        if self.device.type == "cuda":
            stream = torch.cuda.current_stream(self.device)
            images = self.decoder.decode(
                streams, params=self.params, cuda_stream=stream.cuda_stream
            )
            return [None if i is None else torch.from_dlpack(i).permute(2, 0, 1) for i in images]
        images = self.decoder.decode(streams, params=self.params)
        return [
            None if i is None else torch.from_numpy(np.asarray(i.cpu())).permute(2, 0, 1)
            for i in images
        ]


def _nvimgcodec(device) -> _NvImageCodec | None:
    """nvImageCodec's decoder for `device`, or None when the package is not installed."""
    import torch

    try:  # its import lists missing optional codec libraries on stderr (nvJPEG matters on a GPU)
        from nvidia import nvimgcodec
    except ImportError:
        return None
    return _NvImageCodec(nvimgcodec, torch, device)
