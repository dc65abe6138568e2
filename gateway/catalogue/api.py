"""The catalogue's gRPC methods of asen.v1.FashionSimilarity (mixed into the gateway servicer).

Each method converts messages (`catalogue.messages`), calls the transport-free
`CatalogueService`, and converts back; the gateway's CallGuard gives each call admission, its
deadline, the status mapping and the access log; per operation the catalogue metrics are kept.
UpsertItems is bounded like every gateway stream (CallGuard.stream: the stream budget and the
per-caller cap; `core.streams.idle_bounded`: the idle timeout) and gives every item its own
deadline (ASEN_CATALOGUE_ITEM_TIMEOUT_SECONDS from when the item is read, CallGuard.item_deadlines),
never one for the stream, so a stream of 100,000 items is not cut short.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from asen_contract.errors import Unavailable
from gateway import metrics
from gateway.api.call_guard import CallGuard
from gateway.api.status import status_of
from gateway.catalogue import messages
from gateway.catalogue.operations import UpsertRequest
from gateway.catalogue.service import CatalogueService
from gateway.generated.asen.v1 import similarity_pb2 as pb

T = TypeVar("T")


class CatalogueMethods:
    """Needs `_guard` (CallGuard), `_streams` (StreamSettings: the idle timeout every stream
    has) and `_catalogue` (CatalogueService, None = switched off)."""

    _guard: CallGuard
    _streams: Any
    _catalogue: CatalogueService | None

    def _service(self) -> CatalogueService:
        if self._catalogue is None:
            raise Unavailable("catalogue search is switched off (ASEN_CATALOGUE_URI is empty)")
        return self._catalogue

    async def _measured(
        self, operation: str, deadline: float, run: Callable[[float], Awaitable[T]]
    ) -> T:
        started = time.perf_counter()
        code = "OK"
        try:
            return await run(deadline)
        except BaseException as error:
            code = status_of(error).code.name
            raise
        finally:
            metrics.CATALOGUE_REQUESTS.labels(operation=operation, code=code).inc()
            metrics.CATALOGUE_DURATION.labels(operation=operation).observe(
                time.perf_counter() - started
            )

    async def SearchItems(self, request, context):  # noqa: N802 (gRPC method names)
        async def handle(deadline: float) -> pb.SearchItemsResponse:
            async def run(deadline: float) -> pb.SearchItemsResponse:
                query = messages.search_query(request)
                return messages.search_response(await self._service().search(query, deadline))

            return await self._measured("search", deadline, run)

        return await self._guard.unary("SearchItems", context, handle)

    async def DeleteItems(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.DeleteItemsResponse:
            async def run(deadline: float) -> pb.DeleteItemsResponse:
                result = await self._service().delete(list(request.item_ids), deadline)
                return messages.delete_response(result)

            return await self._measured("delete", deadline, run)

        return await self._guard.unary("DeleteItems", context, handle)

    async def CatalogueStats(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.CatalogueStatsResponse:
            async def run(deadline: float) -> pb.CatalogueStatsResponse:
                result = await self._service().stats(deadline)
                for report in result.versions:
                    metrics.CATALOGUE_ITEMS.labels(model_version=report.stats.model_version).set(
                        report.stats.items
                    )
                return messages.stats_response(result)

            return await self._measured("stats", deadline, run)

        return await self._guard.unary("CatalogueStats", context, handle)

    async def StartReindex(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.CatalogueVersionStats:
            async def run(deadline: float) -> pb.CatalogueVersionStats:
                report = await self._service().start_reindex(request.source_version, deadline)
                return messages.version_stats(report)

            return await self._measured("reindex", deadline, run)

        return await self._guard.unary("StartReindex", context, handle)

    async def FinishReindex(self, request, context):  # noqa: N802
        async def handle(deadline: float) -> pb.CatalogueVersionStats:
            async def run(deadline: float) -> pb.CatalogueVersionStats:
                return messages.version_stats(await self._service().finish_reindex(deadline))

            return await self._measured("reindex", deadline, run)

        return await self._guard.unary("FinishReindex", context, handle)

    async def ListItems(self, request, context):  # noqa: N802
        async def handle() -> AsyncIterator[pb.CatalogueItem]:
            async for item in self._service().list_items(request.model_version):
                yield messages.listed_item(item)

        async for response in self._guard.stream("ListItems", context, handle):
            yield response

    async def UpsertItems(self, request_iterator, context):  # noqa: N802
        async def requests() -> AsyncIterator[UpsertRequest]:
            async for request in request_iterator:
                yield messages.upsert_request(request)

        async def handle() -> AsyncIterator[pb.UpsertItemResult]:
            service = self._service()
            deadline_of = self._guard.item_deadlines(context, service.item_timeout)
            idle = self._streams.idle_timeout
            started = time.perf_counter()
            try:
                async for outcome in service.upsert_stream(requests(), deadline_of, idle):
                    status = None
                    if outcome.error is not None:
                        status = self._guard.failed("UpsertItems", outcome.error)
                    code = "OK" if status is None else status.code.name
                    metrics.STREAM_ITEMS.labels(method="UpsertItems", code=code).inc()
                    metrics.CATALOGUE_REQUESTS.labels(operation="upsert", code=code).inc()
                    yield messages.upsert_result(outcome, status)
            finally:
                metrics.CATALOGUE_DURATION.labels(operation="upsert_stream").observe(
                    time.perf_counter() - started
                )

        async for response in self._guard.stream("UpsertItems", context, handle):
            yield response


def catalogue_service(core: Any, config: Any) -> CatalogueService | None:
    """The catalogue of a gateway configuration (None when its URI is empty)."""
    from gateway.catalogue.settings import CatalogueSettings
    from gateway.catalogue.store import CatalogueStore

    settings = CatalogueSettings.from_config(config)
    if not settings.enabled:
        return None
    return CatalogueService(
        core,
        CatalogueStore(settings),
        item_timeout=config.catalogue_item_timeout_seconds,
        window=config.stream_window,
    )
