"""Catalogue protobuf messages <-> the catalogue core's plain values (conversion only)."""

from __future__ import annotations

from asen_contract.errors import InvalidInput
from gateway.api.messages import image_ref
from gateway.api.status import Status
from gateway.catalogue.filters import Condition, ItemFilter, Op, check_filter, parse_filter
from gateway.catalogue.items import ItemMetadata
from gateway.catalogue.operations import (
    DeleteResult,
    ListedItem,
    SearchQuery,
    SearchResult,
    StatsResult,
    UpsertOutcome,
    UpsertRequest,
    VersionReport,
)
from gateway.generated.asen.v1 import similarity_pb2 as pb

_OPS = {
    pb.FilterCondition.EQUALS: Op.EQUALS,
    pb.FilterCondition.NOT_EQUALS: Op.NOT_EQUALS,
    pb.FilterCondition.IN: Op.IN,
    pb.FilterCondition.NOT_IN: Op.NOT_IN,
    pb.FilterCondition.HAS: Op.HAS,
}


def upsert_request(request: pb.UpsertItemsRequest) -> UpsertRequest:
    return UpsertRequest(
        item_id=request.item_id,
        image=image_ref(request.image),
        category=request.metadata.category,
        brand=request.metadata.brand,
        labels=dict(request.metadata.labels),
        attributes=tuple(request.attributes),
    )


def upsert_result(outcome: UpsertOutcome, status: Status | None) -> pb.UpsertItemResult:
    message = pb.UpsertItemResult(index=outcome.index, item_id=outcome.item_id)
    if status is not None:
        message.error.code = status.code.name
        message.error.message = status.message
    else:
        message.result.CopyFrom(
            pb.UpsertedItem(
                model_version=outcome.model_version,
                image_sha256=outcome.image_sha256,
                attributes=list(outcome.attributes),
                cached=outcome.cached,
            )
        )
    return message


def item_filter(request: pb.SearchItemsRequest) -> ItemFilter:
    """The structured filter or the parsed text form (InvalidInput if both, or if malformed)."""
    if request.filter.all_of and request.filter_expression:
        raise InvalidInput("give filter or filter_expression, not both")
    if request.filter_expression:
        return parse_filter(request.filter_expression)
    conditions = []
    for number, c in enumerate(request.filter.all_of, start=1):
        if c.op not in _OPS:
            raise InvalidInput(f"filter condition {number} ({c.field}): set op")
        conditions.append(Condition(c.field, _OPS[c.op], tuple(c.values)))
    return check_filter(conditions)


def search_query(request: pb.SearchItemsRequest) -> SearchQuery:
    which = request.WhichOneof("query")
    return SearchQuery(
        attributes=tuple(request.attributes),
        top_k=request.top_k,
        image=image_ref(request.image) if which == "image" else None,
        item_id=request.item_id if which == "item_id" else "",
        item_filter=item_filter(request),
        exclude_query_item=request.exclude_query_item,
    )


def metadata_message(metadata: ItemMetadata) -> pb.ItemMetadata:
    return pb.ItemMetadata(
        category=metadata.category, brand=metadata.brand, labels=dict(metadata.labels)
    )


def _box(roi: tuple[float, float, float, float]) -> pb.Box:
    x0, y0, x1, y1 = roi
    return pb.Box(x0=x0, y0=y0, x1=x1, y1=y1)


def search_response(result: SearchResult) -> pb.SearchItemsResponse:
    return pb.SearchItemsResponse(
        model_version=result.model_version,
        query_sha256=result.query_sha256,
        query_item_id=result.query_item_id,
        results=[
            pb.AttributeSearchResults(
                attribute=group.attribute,
                query_roi=_box(group.query_roi),
                results=[
                    pb.SearchHit(
                        item_id=h.item_id,
                        similarity=h.similarity,
                        global_similarity=h.global_similarity,
                        local_similarity=h.local_similarity,
                        metadata=metadata_message(h.metadata),
                        image_sha256=h.image_sha256,
                        roi=_box(h.roi),
                    )
                    for h in group.hits
                ],
            )
            for group in result.per_attribute
        ],
    )


def delete_response(result: DeleteResult) -> pb.DeleteItemsResponse:
    return pb.DeleteItemsResponse(
        model_version=result.model_version, deleted=result.deleted, not_found=result.not_found
    )


def version_stats(report: VersionReport) -> pb.CatalogueVersionStats:
    stats = report.stats
    return pb.CatalogueVersionStats(
        model_version=stats.model_version,
        state=stats.state,
        items=stats.items,
        items_per_attribute={
            report.attribute_names.get(a, str(a)): n for a, n in stats.rows_per_attribute.items()
        },
        index_type=stats.index_type,
        vector_type=stats.vector_type,
        layout=stats.layout,
        serving=report.serving,
        source_version=stats.source_version,
    )


def stats_response(result: StatsResult) -> pb.CatalogueStatsResponse:
    return pb.CatalogueStatsResponse(
        model_version=result.model_version,
        engine=result.engine,
        versions=[version_stats(v) for v in result.versions],
    )


def listed_item(item: ListedItem) -> pb.CatalogueItem:
    return pb.CatalogueItem(
        item_id=item.item_id,
        image_sha256=item.image_sha256,
        metadata=metadata_message(item.metadata),
        attributes=list(item.attributes),
    )
