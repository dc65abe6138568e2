"""How far another pre-processing (device, fast) is from the exact one (Pillow), on the same graphs.

For each encoded image: the 8-bit pixels of the global input (after resize + centre crop),
the normalised global input, every local input (at the exact path's boxes), and the embeddings
and RoI boxes of every attribute through the same graph sessions. On a CPU without a GPU the
device path decodes with nvImageCodec's CPU backend (or Pillow), so the figures measure the
resize, crop and normalisation; on a GPU with nvJPEG they include the decoder's differences.
The fast path's figures measure its reduced-scale JPEG decode.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from asen.runtimes.agreement import compare_encoded
from asen.runtimes.pipeline import GraphPipeline
from asen.runtimes.preprocessing import (
    DevicePreprocessing,
    ExactPreprocessing,
    FastPreprocessing,
)


def odd_images(seed: int = 0) -> list[tuple[str, bytes]]:
    """(name, bytes): sizes and encodings that stress the resize and the decoder choice."""
    rng = np.random.default_rng(seed)
    cases = [
        ("1x1.png", (1, 1), "RGB", "PNG", {}),
        ("2x3.jpg", (2, 3), "RGB", "JPEG", {}),
        ("97x131.jpg", (97, 131), "RGB", "JPEG", {"quality": 90}),
        ("223x225.jpg", (223, 225), "RGB", "JPEG", {"quality": 95}),
        ("225x223_progressive.jpg", (225, 223), "RGB", "JPEG", {"progressive": True}),
        ("20x400.jpg", (20, 400), "RGB", "JPEG", {}),  # aspect ratio 20, the default limit
        ("400x21_444.jpg", (400, 21), "RGB", "JPEG", {"subsampling": 0}),
        ("113x1000_gray.jpg", (113, 1000), "L", "JPEG", {}),
        ("333x217_cmyk.jpg", (333, 217), "CMYK", "JPEG", {}),
        ("301x199_rgba.png", (301, 199), "RGBA", "PNG", {}),
        ("257x383.webp", (257, 383), "RGB", "WEBP", {"quality": 90}),
        ("1333x1999.jpg", (1333, 1999), "RGB", "JPEG", {"quality": 85}),
    ]
    named = []
    for name, (width, height), mode, fmt, options in cases:
        coarse = rng.random((max(1, height // 16), max(1, width // 16), 3)) * 255
        smooth = Image.fromarray(coarse.astype(np.uint8)).resize((width, height), Image.BILINEAR)
        noise = rng.integers(-40, 41, (height, width, 3))
        array = np.clip(np.asarray(smooth, dtype=np.int64) + noise, 0, 255).astype(np.uint8)
        image = Image.fromarray(array).convert(mode)
        buffer = io.BytesIO()
        image.save(buffer, fmt, **options)
        named.append((name, buffer.getvalue()))
    return named


def measure(
    sessions,
    config,
    named: list[tuple[str, bytes]],
    other: DevicePreprocessing | FastPreprocessing | None = None,
) -> dict:
    """The agreement of `other` (default: the device path on the CPU) with the exact path on
    `named` images."""
    exact = ExactPreprocessing()
    other = other or DevicePreprocessing("cpu")
    reference = GraphPipeline(sessions, config, exact)
    candidate = GraphPipeline(sessions, config, other)
    worst_pixels, worst_input, worst, worst_image = 0, 0.0, None, ""
    for name, data in named:
        want, have = exact.decode(data), other.decode(data)
        pixels = np.abs(
            exact.global_pixels(want, config.global_size).astype(np.int64)
            - other.global_pixels(have, config.global_size).astype(np.int64)
        ).max()
        inputs = [
            np.abs(
                exact.global_input(want, config.global_size)
                - other.global_input(have, config.global_size)
            ).max()
        ]
        if config.has_local:
            roi = reference.embed([want], [list(range(config.num_attributes))]).roi[0]
            boxes = [tuple(box) for box in roi.astype(int).tolist()]
            got = other.local_inputs(have, boxes, config.local_size)  # one image, as roi_crop
            for box, local in zip(boxes, got, strict=True):
                inputs.append(np.abs(exact.local_input(want, box, config.local_size) - local).max())
        score = (int(pixels), float(max(inputs)))
        if worst is None or score > worst:
            worst, worst_image = score, name
        worst_pixels = max(worst_pixels, int(pixels))
        worst_input = max(worst_input, float(max(inputs)))
    agreement = compare_encoded(
        reference, candidate, [data for _, data in named], config.num_attributes
    )
    decoder = getattr(other, "decoder", None)
    return {
        "preprocessing": other.name,
        "images": [name for name, _ in named],
        "decoder": decoder.backend if decoder else "pillow",
        "decoded_by": dict(decoder.decoded_by) if decoder else {"pillow": len(named)},
        "max_abs_pixel_diff": worst_pixels,  # 8-bit levels, global input before normalisation
        "max_abs_input_diff": worst_input,  # normalised global and local inputs
        "worst_image": worst_image,
        **agreement.to_dict(),
    }
