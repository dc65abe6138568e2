"""The catalogue calls of `AsenClient`: protobuf in, plain results out (see catalogue_results)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from asen.client.catalogue_results import (
    AttributeResults,
    CatalogueItem,
    CatalogueSearch,
    CatalogueStats,
    DeleteResult,
    ItemMetadata,
    ItemRef,
    ListedItem,
    SearchHit,
    UpsertResult,
    VersionStats,
)
from gateway.generated.asen.v1 import similarity_pb2 as pb


def upsert_request(item: CatalogueItem, image_ref) -> pb.UpsertItemsRequest:
    return pb.UpsertItemsRequest(
        item_id=item.item_id,
        image=image_ref(item.image),
        metadata=pb.ItemMetadata(
            category=item.category, brand=item.brand, labels=dict(item.labels)
        ),
        attributes=list(item.attributes),
    )


def upsert_result(message: pb.UpsertItemResult) -> UpsertResult:
    if message.WhichOneof("outcome") == "error":
        return UpsertResult(
            int(message.index),
            message.item_id,
            error_code=message.error.code,
            error_message=message.error.message,
        )
    r = message.result
    return UpsertResult(
        int(message.index),
        message.item_id,
        r.model_version,
        r.image_sha256,
        tuple(r.attributes),
        r.cached,
    )


def search_request(
    query,
    attributes: Sequence[str],
    top_k: int,
    filter_expression: str,
    exclude_query_item: bool,
    image_ref,
) -> pb.SearchItemsRequest:
    request = pb.SearchItemsRequest(
        attributes=list(attributes),
        top_k=top_k,
        filter_expression=filter_expression,
        exclude_query_item=exclude_query_item,
    )
    if isinstance(query, ItemRef):
        request.item_id = query.item_id
    else:
        request.image.CopyFrom(image_ref(query))
    return request


def _metadata(message: pb.ItemMetadata) -> ItemMetadata:
    return ItemMetadata(message.category, message.brand, dict(message.labels))


def _box(box: pb.Box) -> tuple[float, float, float, float]:
    return (box.x0, box.y0, box.x1, box.y1)


def search_result(message: pb.SearchItemsResponse) -> CatalogueSearch:
    return CatalogueSearch(
        model_version=message.model_version,
        query_sha256=message.query_sha256,
        query_item_id=message.query_item_id,
        results={
            group.attribute: AttributeResults(
                group.attribute,
                [
                    SearchHit(
                        h.item_id,
                        h.similarity,
                        h.global_similarity,
                        h.local_similarity,
                        _metadata(h.metadata),
                        h.image_sha256,
                        _box(h.roi),
                    )
                    for h in group.results
                ],
                _box(group.query_roi),
            )
            for group in message.results
        },
    )


def delete_result(message: pb.DeleteItemsResponse) -> DeleteResult:
    return DeleteResult(message.model_version, list(message.deleted), list(message.not_found))


def version_stats(v: pb.CatalogueVersionStats) -> VersionStats:
    return VersionStats(
        v.model_version,
        v.state,
        int(v.items),
        {k: int(n) for k, n in sorted(v.items_per_attribute.items())},
        v.index_type,
        v.vector_type,
        v.layout,
        v.serving,
        v.source_version,
    )


def stats_result(message: pb.CatalogueStatsResponse) -> CatalogueStats:
    return CatalogueStats(
        message.model_version, message.engine, [version_stats(v) for v in message.versions]
    )


def listed_items(messages: Iterable[pb.CatalogueItem]) -> Iterator[ListedItem]:
    for m in messages:
        yield ListedItem(m.item_id, m.image_sha256, _metadata(m.metadata), tuple(m.attributes))
