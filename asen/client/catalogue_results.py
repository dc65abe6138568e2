"""Plain types of the client's catalogue calls (no protobuf objects leak out of the client)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class ItemRef:
    """A search query that is an item already in the catalogue (its stored vectors are used)."""

    item_id: str


@dataclass(frozen=True)
class CatalogueItem:
    """One item to index: the caller's id, its image (bytes, path or Sha256Ref) and metadata."""

    item_id: str
    image: Any
    category: str = ""
    brand: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    attributes: tuple[str, ...] = ()  # empty = every attribute of the model


@dataclass(frozen=True)
class UpsertResult:
    index: int
    item_id: str
    model_version: str = ""
    image_sha256: str = ""
    attributes: tuple[str, ...] = ()
    cached: bool = False
    error_code: str = ""
    error_message: str = ""

    @property
    def ok(self) -> bool:
        return not self.error_code


@dataclass(frozen=True)
class ItemMetadata:
    category: str = ""
    brand: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    item_id: str
    similarity: float
    global_similarity: float
    local_similarity: float
    metadata: ItemMetadata
    image_sha256: str
    roi: tuple[float, float, float, float]

    def to_json(self) -> dict:
        return {
            "item_id": self.item_id,
            "similarity": self.similarity,
            "global_similarity": self.global_similarity,
            "local_similarity": self.local_similarity,
            "metadata": asdict(self.metadata),
        }


@dataclass(frozen=True)
class AttributeResults:
    attribute: str
    results: list[SearchHit]
    query_roi: tuple[float, float, float, float]


@dataclass(frozen=True)
class CatalogueSearch:
    model_version: str
    query_sha256: str
    query_item_id: str
    results: dict[str, AttributeResults]  # attribute name -> best first

    def to_json(self, attribute: str) -> dict:
        """The documented JSON of one attribute's results."""
        return {
            "model_version": self.model_version,
            "attribute": attribute,
            "results": [hit.to_json() for hit in self.results[attribute].results],
        }


@dataclass(frozen=True)
class DeleteResult:
    model_version: str
    deleted: list[str]
    not_found: list[str]

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VersionStats:
    model_version: str
    state: str
    items: int
    items_per_attribute: dict[str, int]
    index_type: str
    vector_type: str
    layout: str
    serving: bool
    source_version: str = ""


@dataclass(frozen=True)
class CatalogueStats:
    model_version: str
    engine: str
    versions: list[VersionStats]

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ListedItem:
    item_id: str
    image_sha256: str
    metadata: ItemMetadata
    attributes: tuple[str, ...]
