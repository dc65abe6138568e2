"""The asen.v1.FashionSimilarity servicer: request parsing, responses, per-method logic."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc
import numpy as np

from asen_contract.model_info import AttributeSpec, ModelInfo
from gateway.call_guard import CallGuard
from gateway.embedder import AttributeResult, Embedder
from gateway.errors import GatewayError, exhausted, invalid, unavailable
from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc
from gateway.images import ImageInput
from gateway.similarity import score
from gateway.triton_pool import TritonPool


class FashionSimilarityService(pb_grpc.FashionSimilarityServicer):
    """Thin protocol layer: every method resolves the served model, turns the request into
    ImageInputs and attribute specs, asks the Embedder, and scores; CallGuard wraps each call."""

    def __init__(
        self,
        pool: TritonPool,
        embedder: Embedder,
        guard: CallGuard,
        max_candidates: int,
        stream_window: int,
    ) -> None:
        self._pool = pool
        self._embedder = embedder
        self._guard = guard
        self._max_candidates = max_candidates
        self._stream_window = stream_window

    # -- unary methods ------------------------------------------------------------------------
    async def ListAttributes(self, request, context):  # noqa: N802 (gRPC method names)
        async def handle(_deadline: float) -> pb.ListAttributesResponse:
            info = self._info()
            return pb.ListAttributesResponse(
                model_version=info.model_version,
                attributes=[
                    pb.AttributeInfo(
                        name=a.name, id=a.id, num_values=a.num_values, value_names=a.value_names
                    )
                    for a in info.attributes
                ],
                beta=info.beta,
                embedding_dim=info.embedding_dim,
                global_dim=info.global_dim,
            )

        return await self._guard.unary("ListAttributes", context, handle)

    async def Embed(self, request, context):  # noqa: N802
        return await self._guard.unary(
            "Embed", context, lambda deadline: self._embed(request, deadline)
        )

    async def Compare(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.CompareResponse:
            info = self._info()
            attributes = _attributes(info, list(request.attributes))
            a = _image(request.a, "image a")
            b = _image(request.b, "image b")
            first, second = await self._embedder.embed(info, [a, b], attributes, deadline)
            scores = []
            for attribute in attributes:
                s = score(
                    first[attribute.name].embedding,
                    second[attribute.name].embedding,
                    info.global_dim,
                )
                scores.append(
                    pb.AttributeScore(
                        attribute=attribute.name,
                        similarity=float(s.fused[0]),
                        global_similarity=float(s.global_part[0]),
                        local_similarity=float(s.local_part[0]),
                    )
                )
            return pb.CompareResponse(
                model_version=info.model_version,
                scores=scores,
                a_sha256=a.sha256,
                b_sha256=b.sha256,
            )

        return await self._guard.unary("Compare", context, handle)

    async def Rank(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.RankResponse:
            info = self._info()
            if not request.attribute:
                raise invalid("Rank needs an attribute")
            attributes = _attributes(info, [request.attribute])
            if not request.candidates:
                raise invalid("Rank needs at least one candidate image")
            if len(request.candidates) > self._max_candidates:
                raise exhausted(
                    f"{len(request.candidates)} candidates; the limit is {self._max_candidates}"
                )
            query = _image(request.query, "query image")
            candidates = [_image(c, f"candidate {i}") for i, c in enumerate(request.candidates)]
            results = await self._embedder.embed(info, [query, *candidates], attributes, deadline)
            name = attributes[0].name
            matrix = np.stack([r[name].embedding for r in results[1:]])
            s = score(results[0][name].embedding, matrix, info.global_dim)
            order = np.argsort(-s.fused, kind="stable")
            if request.top_k:
                order = order[: request.top_k]
            return pb.RankResponse(
                model_version=info.model_version,
                attribute=name,
                query_sha256=query.sha256,
                results=[
                    pb.RankedCandidate(
                        index=int(i),
                        sha256=candidates[i].sha256,
                        similarity=float(s.fused[i]),
                        global_similarity=float(s.global_part[i]),
                        local_similarity=float(s.local_part[i]),
                    )
                    for i in order
                ],
            )

        return await self._guard.unary("Rank", context, handle)

    # -- streaming ----------------------------------------------------------------------------
    async def EmbedStream(self, request_iterator, context):  # noqa: N802
        stream = self._guard.stream(
            "EmbedStream", context, lambda: self._embed_stream(request_iterator, context)
        )
        async for response in stream:
            yield response

    async def _embed_stream(
        self, request_iterator: AsyncIterator[pb.EmbedRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.EmbedStreamResponse]:
        """Up to `stream_window` images in flight; reading stops while the window is full."""
        window: asyncio.Queue[asyncio.Task | None] = asyncio.Queue(maxsize=self._stream_window)
        deadline = self._guard.deadline(context)

        async def feed() -> None:
            async for request in request_iterator:
                await window.put(asyncio.create_task(self._embed(request, deadline)))
            await window.put(None)

        feeder = asyncio.create_task(feed())
        index = 0
        try:
            while True:
                getter = asyncio.ensure_future(window.get())
                done, _ = await asyncio.wait({getter, feeder}, return_when="FIRST_COMPLETED")
                if getter not in done:  # the feeder ended without a sentinel: reading failed
                    getter.cancel()
                    feeder.result()
                    return
                task = getter.result()
                if task is None:
                    return
                try:
                    yield pb.EmbedStreamResponse(index=index, result=await task)
                except GatewayError as error:
                    yield pb.EmbedStreamResponse(
                        index=index, error=pb.Error(code=error.code.name, message=error.message)
                    )
                index += 1
        finally:
            feeder.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await feeder
            while not window.empty():
                task = window.get_nowait()
                if task is not None:
                    task.cancel()

    # -- shared -------------------------------------------------------------------------------
    async def _embed(self, request: pb.EmbedRequest, deadline: float) -> pb.EmbedResponse:
        info = self._info()
        attributes = _attributes(info, list(request.attributes))
        image = _image(request.image, "image")
        if request.include_attention:
            if image.data is None:
                raise invalid("include_attention needs the image bytes, not its sha256")
            results = await self._embedder.embed_with_attention(info, image, attributes, deadline)
        else:
            (results,) = await self._embedder.embed(info, [image], attributes, deadline)
        return pb.EmbedResponse(
            model_version=info.model_version,
            image_sha256=image.sha256,
            embeddings=[_embedding(a.name, results[a.name]) for a in attributes],
        )

    def _info(self) -> ModelInfo:
        info = self._pool.model_info
        if info is None:
            raise unavailable("no Triton endpoint is ready; retry later")
        return info


def _attributes(info: ModelInfo, names: list[str]) -> list[AttributeSpec]:
    try:
        return info.resolve_attributes(names)
    except ValueError as error:
        raise invalid(str(error)) from None


def _image(ref: pb.ImageRef, label: str) -> ImageInput:
    source = ref.WhichOneof("source")
    if source == "data":
        return ImageInput.from_bytes(ref.data, label)
    if source == "sha256":
        return ImageInput.from_sha256(ref.sha256, label)
    raise invalid(f"{label} is empty (set data or sha256)")


def _embedding(name: str, result: AttributeResult) -> pb.AttributeEmbedding:
    x0, y0, x1, y1 = result.roi
    message = pb.AttributeEmbedding(
        attribute=name,
        embedding=result.embedding.tolist(),
        roi=pb.Box(x0=x0, y0=y0, x1=x1, y1=y1),
        cached=result.cached,
    )
    if result.attention is not None:
        height, width = result.attention.shape[-2:]
        message.attention.height = int(height)
        message.attention.width = int(width)
        message.attention.values.extend(result.attention.reshape(-1).tolist())
    return message
