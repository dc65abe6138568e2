"""Plain request and result types of the catalogue operations (no protobuf in the core)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.catalogue.filters import ItemFilter
from gateway.catalogue.items import ItemMetadata, VersionStats


@dataclass(frozen=True)
class UpsertRequest:
    item_id: str
    image: Any  # the gateway core's ImageRef (bytes or a sha256 reference)
    category: str = ""
    brand: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    attributes: tuple[str, ...] = ()  # empty = every attribute of the model


@dataclass(frozen=True)
class UpsertOutcome:
    index: int
    item_id: str
    model_version: str = ""
    image_sha256: str = ""
    attributes: tuple[str, ...] = ()
    cached: bool = False
    error: BaseException | None = None


@dataclass(frozen=True)
class SearchQuery:
    attributes: tuple[str, ...]
    top_k: int
    image: Any = None  # ImageRef, or None when searching by item_id
    item_id: str = ""
    item_filter: ItemFilter = field(default_factory=ItemFilter)
    exclude_query_item: bool = False


@dataclass(frozen=True)
class ScoredHit:
    item_id: str
    similarity: float
    global_similarity: float
    local_similarity: float
    metadata: ItemMetadata
    image_sha256: str
    roi: tuple[float, float, float, float]


@dataclass(frozen=True)
class AttributeHits:
    attribute: str
    hits: list[ScoredHit]
    query_roi: tuple[float, float, float, float]


@dataclass(frozen=True)
class SearchResult:
    model_version: str
    query_sha256: str
    query_item_id: str
    per_attribute: list[AttributeHits]


@dataclass(frozen=True)
class DeleteResult:
    model_version: str
    deleted: list[str]
    not_found: list[str]


@dataclass(frozen=True)
class VersionReport:
    stats: VersionStats
    attribute_names: dict[int, str]
    serving: bool


@dataclass(frozen=True)
class StatsResult:
    model_version: str  # served now ("" while no Triton endpoint is ready)
    engine: str
    versions: list[VersionReport]


@dataclass(frozen=True)
class ListedItem:
    item_id: str
    image_sha256: str
    metadata: ItemMetadata
    attributes: tuple[str, ...]
