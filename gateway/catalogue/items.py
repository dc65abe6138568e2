"""Plain types of the catalogue: what is indexed, what a search returns, what stats report."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ItemMetadata:
    """Caller-supplied description of an item; `labels` are free string key/values."""

    category: str = ""
    brand: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AttributeVector:
    """One attribute embedding of an item: the fused vector and the RoI box it came from."""

    attribute_id: int
    embedding: np.ndarray
    roi: tuple[float, float, float, float]


@dataclass(frozen=True)
class ItemRecord:
    """Everything stored for one item under one model version."""

    item_id: str
    image_sha256: str
    metadata: ItemMetadata
    vectors: tuple[AttributeVector, ...]

    @property
    def attribute_ids(self) -> tuple[int, ...]:
        return tuple(v.attribute_id for v in self.vectors)


@dataclass(frozen=True)
class StoredItem:
    """An item as listed (no vectors): what `reindex` needs to rebuild it elsewhere."""

    item_id: str
    image_sha256: str
    metadata: ItemMetadata
    attribute_ids: tuple[int, ...]
    updated_ms: int


@dataclass(frozen=True)
class Hit:
    """One search result: the stored vector is returned so the caller can split the score."""

    item_id: str
    image_sha256: str
    metadata: ItemMetadata
    roi: tuple[float, float, float, float]
    embedding: np.ndarray
    engine_score: float


@dataclass(frozen=True)
class VersionStats:
    model_version: str
    collection: str
    state: str  # "building" or "ready"
    items: int
    rows_per_attribute: dict[int, int]
    index_type: str
    vector_type: str
    layout: str
    source_version: str = ""
