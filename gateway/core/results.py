"""Plain result types of the core (the gRPC adapter turns them into protobuf messages)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AttributeResult:
    """One attribute embedding of one image: fused vector, RoI box in original pixels."""

    embedding: np.ndarray
    roi: tuple[float, float, float, float]
    cached: bool
    attention: np.ndarray | None = None


@dataclass(frozen=True)
class ImageEmbeddings:
    model_version: str
    image_sha256: str
    embeddings: dict[str, AttributeResult]  # in the order the attributes were asked for


@dataclass(frozen=True)
class AttributeScore:
    attribute: str
    similarity: float  # dot product of the fused embeddings
    global_similarity: float
    local_similarity: float


@dataclass(frozen=True)
class Comparison:
    model_version: str
    scores: list[AttributeScore]
    a_sha256: str
    b_sha256: str


@dataclass(frozen=True)
class RankedCandidate:
    index: int  # position in the request's candidate list
    sha256: str
    similarity: float
    global_similarity: float
    local_similarity: float


@dataclass(frozen=True)
class Ranking:
    model_version: str
    attribute: str
    query_sha256: str
    results: list[RankedCandidate]  # best first


@dataclass(frozen=True)
class StreamItem:
    """One outcome of a stream of requests: a result, or the error of that item alone."""

    index: int
    result: ImageEmbeddings | None = None
    error: BaseException | None = None
