"""Decoded training images by id, with a byte-bounded in-memory cache.

Training reads each image many times per epoch (100,000 triplets over a few thousand images on
small sets), and stage 2 needs the full-resolution source again for the RoI crop after the
forward. Decoding once and keeping the global input (uint8, already resized and centre-cropped)
and the decoded source in memory makes both nearly free; the byte budget keeps large data sets
(FashionAI, DeepFashion) from exhausting memory, where entries are simply re-decoded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from asen_contract.images import read_image_file
from asen_contract.preprocess import center_crop, resize_shorter_side

DEFAULT_CACHE_BYTES = 2 << 30


class ImageStore:
    """`pixels(id)` -> global input as uint8 [G, G, 3]; `source(id)` -> decoded RGB image."""

    def __init__(
        self,
        paths: Sequence[Path],
        global_size: int,
        keep_sources: bool,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.paths = list(paths)
        self.global_size = global_size
        self.keep_sources = keep_sources
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[int, tuple[np.ndarray, Image.Image | None]] = OrderedDict()
        self._cached_bytes = 0
        self.hits = 0
        self.misses = 0

    def pixels(self, image_id: int) -> np.ndarray:
        return self._entry(image_id)[0]

    def source(self, image_id: int) -> Image.Image:
        source = self._entry(image_id)[1]
        if source is None:
            raise ValueError("this store was built without keep_sources")
        return source

    def _entry(self, image_id: int) -> tuple[np.ndarray, Image.Image | None]:
        entry = self._cache.get(image_id)
        if entry is not None:
            self._cache.move_to_end(image_id)
            self.hits += 1
            return entry
        self.misses += 1
        entry = self._load(image_id)
        size = entry[0].nbytes + (_image_bytes(entry[1]) if entry[1] is not None else 0)
        if size <= self.cache_bytes:
            self._cache[image_id] = entry
            self._cached_bytes += size
            while self._cached_bytes > self.cache_bytes:
                _, (pixels, source) = self._cache.popitem(last=False)
                self._cached_bytes -= pixels.nbytes + (_image_bytes(source) if source else 0)
        return entry

    def _load(self, image_id: int) -> tuple[np.ndarray, Image.Image | None]:
        image = read_image_file(self.paths[image_id])
        size = self.global_size
        pixels = np.asarray(center_crop(resize_shorter_side(image, size), size), dtype=np.uint8)
        return pixels, (image if self.keep_sources else None)


def _image_bytes(image: Image.Image) -> int:
    width, height = image.size
    return width * height * len(image.getbands())
