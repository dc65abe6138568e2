"""The service's logic without a transport: Embed, Compare, Rank, ListAttributes, EmbedStream.

Inputs are plain values (`ImageRef`s, attribute names, a monotonic deadline), outputs the
dataclasses of `gateway.core.results`; every failure is an error kind of asen_contract.errors,
which the gRPC adapter maps to a status code in one place. New operations (the catalogue's) are
built from the same public steps: `model()`, `attributes()`, `embed_images()`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from asen_contract.errors import InvalidInput, LimitExceeded, Unavailable
from asen_contract.model_info import AttributeSpec, ModelInfo
from gateway import metrics
from gateway.core.embedder import Embedder
from gateway.core.images import ImageInput, ImageRef
from gateway.core.inference import InferenceBackend
from gateway.core.results import (
    AttributeResult,
    AttributeScore,
    Comparison,
    ImageEmbeddings,
    RankedCandidate,
    Ranking,
    StreamItem,
)
from gateway.core.scoring import score, score_pair
from gateway.core.streams import idle_bounded


@dataclass(frozen=True)
class EmbedQuery:
    """One Embed request: an image, attribute names (empty = all), attention maps or not."""

    image: ImageRef
    attributes: Sequence[str] = ()
    include_attention: bool = False


class SimilarityService:
    def __init__(self, backend: InferenceBackend, embedder: Embedder, max_candidates: int) -> None:
        self._backend = backend
        self._embedder = embedder
        self._max_candidates = max_candidates

    # -- building blocks ----------------------------------------------------------------------
    def model(self) -> ModelInfo:
        """The served model; Unavailable while no Triton endpoint is ready."""
        info = self._backend.model_info
        if info is None:
            raise Unavailable("no Triton endpoint is ready; retry later")
        return info

    @staticmethod
    def attributes(info: ModelInfo, names: Sequence[str]) -> list[AttributeSpec]:
        """Attribute names -> specs (empty = all, repeats dropped); unknown names are an
        InvalidInput that quotes a few of them, cut short (a caller controls their size)."""
        if not names:
            return list(info.attributes)
        by_name = {a.name: a for a in info.attributes}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            metrics.UNKNOWN_ATTRIBUTES.inc(len(unknown))
            raise InvalidInput(_unknown_attributes(unknown, list(by_name)))
        return [by_name[n] for n in dict.fromkeys(names)]

    async def embed_images(
        self,
        info: ModelInfo,
        images: list[ImageInput],
        attributes: list[AttributeSpec],
        deadline: float,
    ) -> list[dict[str, AttributeResult]]:
        """Per image, attribute name -> embedding (cache first, Triton for the misses)."""
        return await self._embedder.embed(info, images, attributes, deadline)

    # -- operations ---------------------------------------------------------------------------
    async def embed(self, query: EmbedQuery, deadline: float) -> ImageEmbeddings:
        info = self.model()
        attributes = self.attributes(info, query.attributes)
        image = ImageInput.of(query.image, "image")
        if query.include_attention:
            if image.data is None:
                raise InvalidInput("include_attention needs the image bytes, not its sha256")
            results = await self._embedder.embed_with_attention(info, image, attributes, deadline)
        else:
            (results,) = await self.embed_images(info, [image], attributes, deadline)
        return ImageEmbeddings(
            model_version=info.model_version,
            image_sha256=image.sha256,
            embeddings={a.name: results[a.name] for a in attributes},
        )

    async def compare(
        self, a: ImageRef, b: ImageRef, attribute_names: Sequence[str], deadline: float
    ) -> Comparison:
        info = self.model()
        attributes = self.attributes(info, attribute_names)
        first_image = ImageInput.of(a, "image a")
        second_image = ImageInput.of(b, "image b")
        first, second = await self.embed_images(
            info, [first_image, second_image], attributes, deadline
        )
        scores = []
        for attribute in attributes:
            name = attribute.name
            fused, global_part, local_part = score_pair(
                first[name].embedding, second[name].embedding, info.global_dim
            )
            scores.append(AttributeScore(name, fused, global_part, local_part))
        return Comparison(info.model_version, scores, first_image.sha256, second_image.sha256)

    async def rank(
        self,
        query: ImageRef,
        attribute: str,
        candidates: Sequence[ImageRef],
        top_k: int,
        deadline: float,
    ) -> Ranking:
        info = self.model()
        if not attribute:
            raise InvalidInput("Rank needs an attribute")
        attributes = self.attributes(info, [attribute])
        if not candidates:
            raise InvalidInput("Rank needs at least one candidate image")
        if len(candidates) > self._max_candidates:
            raise LimitExceeded(
                f"{len(candidates)} candidates; the limit is {self._max_candidates}"
            )
        if top_k < 0:
            raise InvalidInput(f"top_k must be >= 0, got {top_k}")
        query_image = ImageInput.of(query, "query image")
        images = [ImageInput.of(c, f"candidate {i}") for i, c in enumerate(candidates)]
        results = await self.embed_images(info, [query_image, *images], attributes, deadline)
        name = attributes[0].name
        matrix = np.stack([r[name].embedding for r in results[1:]])
        s = score(results[0][name].embedding, matrix, info.global_dim)
        order = np.argsort(-s.fused, kind="stable")
        if top_k:
            order = order[:top_k]
        ranked = [
            RankedCandidate(
                int(i),
                images[i].sha256,
                float(s.fused[i]),
                float(s.global_part[i]),
                float(s.local_part[i]),
            )
            for i in order
        ]
        return Ranking(info.model_version, name, query_image.sha256, ranked)

    async def embed_stream(
        self,
        queries: AsyncIterable[EmbedQuery],
        window: int,
        deadline_of: Callable[[], float],
        idle_timeout: float,
    ) -> AsyncIterator[StreamItem]:
        """Embed a stream of queries, results in order; a failed item is an error item.

        Up to `window` items are in flight; reading stops while the window is full, so a fast
        producer is slowed down by the transport's flow control. `deadline_of()` gives each item
        its own deadline when it is read (a long stream has no overall deadline). A stream with
        nothing in flight that sends nothing for `idle_timeout` seconds ends with
        DeadlineExceeded, so idle streams do not hold their slots for ever."""
        pending: asyncio.Queue[asyncio.Task | None] = asyncio.Queue(maxsize=window)
        answered = 0  # items whose outcome was yielded; read - answered are in flight
        read = 0

        async def feed() -> None:
            nonlocal read
            reads = idle_bounded(queries, idle_timeout, lambda: read != answered)
            async with contextlib.aclosing(reads):
                async for query in reads:
                    read += 1
                    await pending.put(asyncio.create_task(self.embed(query, deadline_of())))
            await pending.put(None)

        feeder = asyncio.create_task(feed())
        index = 0
        try:
            while True:
                getter = asyncio.ensure_future(pending.get())
                done, _ = await asyncio.wait({getter, feeder}, return_when="FIRST_COMPLETED")
                if getter not in done:  # the feeder ended without a sentinel: reading failed
                    getter.cancel()
                    feeder.result()
                    return
                task = getter.result()
                if task is None:
                    return
                try:
                    item = StreamItem(index, result=await task)
                except Exception as error:
                    item = StreamItem(index, error=error)
                answered += 1
                yield item
                index += 1
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feeder
            while not pending.empty():
                task = pending.get_nowait()
                if task is not None:
                    task.cancel()


def _unknown_attributes(unknown: list[str], known: list[str]) -> str:
    """At most three unknown names, each cut to 40 characters, and the known ones."""
    shown = ", ".join(repr(n[:40] + ("..." if len(n) > 40 else "")) for n in unknown[:3])
    more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
    return f"unknown attribute(s) {shown}{more}; known: {', '.join(known)}"
