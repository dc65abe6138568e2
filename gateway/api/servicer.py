"""The asen.v1.FashionSimilarity servicer: converts messages, the core does the work.

Each method turns its request into the core's plain values (`messages`), calls
`SimilarityService`, and turns the result back; `CallGuard` wraps each call with admission,
deadline, status mapping, metrics and the access log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from gateway import metrics
from gateway.api import messages
from gateway.api.call_guard import CallGuard
from gateway.catalogue.api import CatalogueMethods
from gateway.catalogue.service import CatalogueService
from gateway.core.service import EmbedQuery, SimilarityService
from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc


@dataclass(frozen=True)
class StreamSettings:
    window: int  # items in flight per stream
    idle_timeout: float  # seconds without a request (nothing in flight) that end a stream


class FashionSimilarityServicer(CatalogueMethods, pb_grpc.FashionSimilarityServicer):
    """Similarity methods here; the catalogue's (UpsertItems, SearchItems, ...) come from
    CatalogueMethods, which calls `catalogue` (None: the catalogue is switched off)."""

    def __init__(
        self,
        core: SimilarityService,
        guard: CallGuard,
        streams: StreamSettings,
        catalogue: CatalogueService | None = None,
    ) -> None:
        self._core = core
        self._guard = guard
        self._streams = streams
        self._catalogue = catalogue

    async def ListAttributes(self, request, context):  # noqa: N802 (gRPC method names)
        async def handle(_deadline: float) -> pb.ListAttributesResponse:
            return messages.attributes_response(self._core.model())

        return await self._guard.unary("ListAttributes", context, handle)

    async def Embed(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.EmbedResponse:
            result = await self._core.embed(messages.embed_query(request), deadline)
            return messages.embed_response(result)

        return await self._guard.unary("Embed", context, handle)

    async def Compare(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.CompareResponse:
            result = await self._core.compare(
                messages.image_ref(request.a),
                messages.image_ref(request.b),
                tuple(request.attributes),
                deadline,
            )
            return messages.compare_response(result)

        return await self._guard.unary("Compare", context, handle)

    async def Rank(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.RankResponse:
            result = await self._core.rank(
                messages.image_ref(request.query),
                request.attribute,
                [messages.image_ref(c) for c in request.candidates],
                request.top_k,
                deadline,
            )
            return messages.rank_response(result)

        return await self._guard.unary("Rank", context, handle)

    async def EmbedStream(self, request_iterator, context):  # noqa: N802
        deadline_of = self._guard.item_deadlines(context)

        async def queries() -> AsyncIterator[EmbedQuery]:
            async for request in request_iterator:
                yield messages.embed_query(request)

        async def handle() -> AsyncIterator[pb.EmbedStreamResponse]:
            window, idle = self._streams.window, self._streams.idle_timeout
            async for item in self._core.embed_stream(queries(), window, deadline_of, idle):
                if item.error is None:
                    code = "OK"
                    response = pb.EmbedStreamResponse(
                        index=item.index, result=messages.embed_response(item.result)
                    )
                else:
                    status = self._guard.failed("EmbedStream", item.error)
                    code = status.code.name
                    response = messages.stream_error(item.index, status)
                metrics.STREAM_ITEMS.labels(method="EmbedStream", code=code).inc()
                yield response

        async for response in self._guard.stream("EmbedStream", context, handle):
            yield response
