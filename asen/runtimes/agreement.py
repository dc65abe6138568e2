"""How far one way of running the graphs is from another (float32 onnxruntime as reference).

The float32 parity rule of the served path: fused cosine >= 0.9999 and identical RoI boxes for
every image and attribute. INT8 or FP16 do not meet it by design; for them the same figures
say what the speed costs: the worst and mean fused cosine, and the share of identical boxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from PIL import Image

from asen.runtimes.pipeline import GraphPipeline

PARITY_COSINE = 0.9999


@dataclass(frozen=True)
class Agreement:
    pairs: int  # (image, attribute) pairs compared
    min_cosine: float
    mean_cosine: float
    roi_identical: float  # share of pairs whose RoI box is exactly the reference's
    max_roi_shift_px: float  # largest coordinate difference of any box, in source pixels

    @property
    def parity(self) -> bool:
        return self.min_cosine >= PARITY_COSINE and self.roi_identical == 1.0

    def to_dict(self) -> dict:
        return {**asdict(self), "parity": self.parity}


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two [..., D] arrays."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


def compare(
    reference: GraphPipeline,
    candidate: GraphPipeline,
    images: Sequence[Image.Image],
    num_attributes: int,
) -> Agreement:
    """Embed every image for every attribute both ways and compare."""
    attributes = [list(range(num_attributes))]
    cosines, identical, shifts = [], [], []
    for image in images:
        want = reference.embed([image], attributes)
        have = candidate.embed([image], attributes)
        cosines.append(cosine(have.embedding[0], want.embedding[0]))
        identical.append(np.all(have.roi[0] == want.roi[0], axis=-1))
        shifts.append(np.abs(have.roi[0] - want.roi[0]).max())
    return _summary(cosines, identical, shifts)


def _summary(cosines: list, identical: list, shifts: list) -> Agreement:
    cosines_all = np.concatenate(cosines)
    return Agreement(
        pairs=int(cosines_all.size),
        min_cosine=float(cosines_all.min()),
        mean_cosine=float(cosines_all.mean()),
        roi_identical=float(np.concatenate(identical).mean()),
        max_roi_shift_px=float(max(shifts)),
    )


def compare_encoded(
    reference: GraphPipeline,
    candidate: GraphPipeline,
    blobs: Sequence[bytes],
    num_attributes: int,
) -> Agreement:
    """`compare` of encoded images, each pipeline decoding them its own way."""
    attributes = [list(range(num_attributes))]
    cosines, identical, shifts = [], [], []
    for data in blobs:
        want = reference.embed_encoded([data], attributes)
        have = candidate.embed_encoded([data], attributes)
        cosines.append(cosine(have.embedding[0], want.embedding[0]))
        identical.append(np.all(have.roi[0] == want.roi[0], axis=-1))
        shifts.append(np.abs(have.roi[0] - want.roi[0]).max())
    return _summary(cosines, identical, shifts)
