"""The local branch's training input: RoI crops from the same forward's global attention.

Boxes come from `asen_contract.roi.attention_boxes` on the training device, for the whole batch
at once (the one RoI implementation, shared with serving); only the mapping to source pixels and
the crop run per image, because source images differ in size. Crops run on a small thread pool:
Pillow releases the GIL while resizing. The time spent here is accumulated so the trainer can
report the RoI crop's share of the step.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import torch
from PIL import Image

from asen_contract.roi import SquareBox, attention_boxes, box_in_source, local_input

SourceBox = tuple[int, int, int, int]


class LocalCropper:
    """attention [N, h, w] + N source images -> local inputs [N, 3, L, L] (float32, CPU)."""

    def __init__(
        self, global_size: int, local_size: int, threshold: float, threads: int = 0
    ) -> None:
        self.global_size = global_size
        self.local_size = local_size
        self.threshold = threshold
        self._pool = ThreadPoolExecutor(max_workers=threads) if threads > 0 else None
        self.seconds = 0.0

    def source_boxes(
        self, attention: torch.Tensor, sources: Sequence[Image.Image]
    ) -> list[SourceBox]:
        """Batched squares in the global frame, each mapped onto its own source image."""
        squares = attention_boxes(attention.detach(), self.global_size, self.threshold)
        return [
            box_in_source(SquareBox(*square), image.size, self.global_size)
            for square, image in zip(squares.cpu().tolist(), sources, strict=True)
        ]

    def __call__(self, attention: torch.Tensor, sources: Sequence[Image.Image]) -> torch.Tensor:
        started = time.perf_counter()
        boxes = self.source_boxes(attention, sources)
        if self._pool is None:
            crops = [self._crop(image, box) for image, box in zip(sources, boxes, strict=True)]
        else:
            crops = list(self._pool.map(self._crop, sources, boxes))
        batch = torch.stack(crops)
        self.seconds += time.perf_counter() - started
        return batch

    def _crop(self, image: Image.Image, box: SourceBox) -> torch.Tensor:
        return torch.from_numpy(local_input(image, box, self.local_size))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
