"""What the soak sends: images and requests of a realistic mix, shared by the load generator and
the runner (which warms the cache with the same "catalogue" images before the load starts).

Mix (weights): cached Compare 30, new-image Compare 8, cached Embed 20, new-image Embed 8,
Rank of a query against 8 catalogue candidates 12, EmbedStream of 4 images (3 cached, 1 new) 4,
catalogue SearchItems 10 (top 10 for one attribute; half by a catalogue image, half by an
indexed item's id, every other one with a category filter).
"Cached" images are a fixed catalogue, embedded for every attribute and indexed in each gateway's
catalogue before the load starts; a "new" image is one nobody has sent before (its embedding is
computed by Triton).
"""

from __future__ import annotations

import io
import itertools
import os
import random

import numpy as np
from PIL import Image

from gateway.generated.asen.v1 import similarity_pb2 as pb

CATALOGUE_SIZE = 64
MIX = {
    "Compare/cached": 30,
    "Compare/new": 8,
    "Embed/cached": 20,
    "Embed/new": 8,
    "Rank/cached": 12,
    "EmbedStream/mixed": 4,
    "SearchItems/catalogue": 10,
}
CATEGORIES = ("coat", "dress", "skirt", "top")


def image(seed: int, size: int = 96) -> bytes:
    """A small, distinct JPEG per seed (a smooth colour field, photo-sized detail is not needed)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, size=(6, 6, 3), dtype=np.uint8)
    picture = Image.fromarray(small).resize((size, size * 4 // 3), Image.BILINEAR)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def catalogue() -> list[bytes]:
    return [image(seed) for seed in range(CATALOGUE_SIZE)]


def item_id(index: int) -> str:
    return f"item-{index:03d}"


def catalogue_items() -> list[pb.UpsertItemsRequest]:
    """The catalogue as items to index (every attribute), with a category each."""
    return [
        pb.UpsertItemsRequest(
            item_id=item_id(i),
            image=pb.ImageRef(data=picture),
            metadata=pb.ItemMetadata(category=CATEGORIES[i % len(CATEGORIES)]),
        )
        for i, picture in enumerate(catalogue())
    ]


class Requests:
    """Builds the requests of one load-generating process."""

    def __init__(self, attributes: list[str], seed: int | None = None) -> None:
        self.attributes = attributes
        self.catalogue = catalogue()
        self.random = random.Random(seed)
        # new images: seeds no other process and no earlier run uses
        base = (os.getpid() << 24) + self.random.randrange(1 << 20) + 10**9
        self._fresh = itertools.count(base)

    def _cached(self) -> pb.ImageRef:
        return pb.ImageRef(data=self.random.choice(self.catalogue))

    def _new(self) -> pb.ImageRef:
        return pb.ImageRef(data=image(next(self._fresh)))

    def _attribute(self) -> str:
        return self.random.choice(self.attributes)

    def compare(self, new: bool) -> pb.CompareRequest:
        a = self._new() if new else self._cached()
        return pb.CompareRequest(a=a, b=self._cached(), attributes=[self._attribute()])

    def embed(self, new: bool) -> pb.EmbedRequest:
        ref = self._new() if new else self._cached()
        return pb.EmbedRequest(image=ref, attributes=[self._attribute()])

    def rank(self) -> pb.RankRequest:
        candidates = self.random.sample(self.catalogue, 8)
        return pb.RankRequest(
            query=self._cached(),
            attribute=self._attribute(),
            candidates=[pb.ImageRef(data=c) for c in candidates],
            top_k=3,
        )

    def search(self) -> pb.SearchItemsRequest:
        request = pb.SearchItemsRequest(attributes=[self._attribute()], top_k=10)
        if self.random.random() < 0.5:
            request.image.CopyFrom(self._cached())
        else:
            request.item_id = item_id(self.random.randrange(CATALOGUE_SIZE))
            request.exclude_query_item = True
        if self.random.random() < 0.5:
            request.filter_expression = f'category == "{self.random.choice(CATEGORIES)}"'
        return request

    def stream(self) -> list[pb.EmbedRequest]:
        attribute = self._attribute()
        refs = [self._cached(), self._cached(), self._new(), self._cached()]
        return [pb.EmbedRequest(image=ref, attributes=[attribute]) for ref in refs]
