"""The asen.v1.FashionSimilarity servicer: converts messages, the core does the work.

Each method turns its request into the core's plain values (`messages`), calls
`SimilarityService`, and turns the result back; `CallGuard` wraps each call with admission,
deadline, status mapping, metrics and the access log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from gateway.api import messages
from gateway.api.call_guard import CallGuard, item_status
from gateway.core.service import EmbedQuery, SimilarityService
from gateway.generated.asen.v1 import similarity_pb2 as pb
from gateway.generated.asen.v1 import similarity_pb2_grpc as pb_grpc


class FashionSimilarityServicer(pb_grpc.FashionSimilarityServicer):
    def __init__(self, core: SimilarityService, guard: CallGuard, stream_window: int) -> None:
        self._core = core
        self._guard = guard
        self._stream_window = stream_window

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
        deadline = self._guard.deadline(context)

        async def queries() -> AsyncIterator[EmbedQuery]:
            async for request in request_iterator:
                yield messages.embed_query(request)

        async def handle() -> AsyncIterator[pb.EmbedStreamResponse]:
            items = self._core.embed_stream(queries(), self._stream_window, lambda: deadline)
            async for item in items:
                if item.error is None:
                    yield pb.EmbedStreamResponse(
                        index=item.index, result=messages.embed_response(item.result)
                    )
                else:
                    status = item_status("EmbedStream", item.error)
                    yield messages.stream_error(item.index, status)

        async for response in self._guard.stream("EmbedStream", context, handle):
            yield response
