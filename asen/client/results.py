"""Plain result types of the client (no protobuf objects leak out of the client API)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class AttributeInfo:
    name: str
    id: int
    num_values: int
    value_names: list[str]


@dataclass(frozen=True)
class ModelAttributes:
    model_version: str
    attributes: list[AttributeInfo]
    beta: float
    embedding_dim: int
    global_dim: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Embedding:
    vector: np.ndarray
    roi: tuple[float, float, float, float]
    cached: bool
    attention: np.ndarray | None = None

    def to_json(self) -> dict:
        out: dict = {
            "embedding": self.vector.tolist(),
            "roi": list(self.roi),
            "cached": self.cached,
        }
        if self.attention is not None:
            out["attention"] = self.attention.tolist()
        return out


@dataclass(frozen=True)
class EmbedResult:
    model_version: str
    image_sha256: str
    embeddings: dict[str, Embedding]

    def to_json(self) -> dict:
        return {
            "model_version": self.model_version,
            "image_sha256": self.image_sha256,
            "embeddings": {name: e.to_json() for name, e in self.embeddings.items()},
        }


@dataclass(frozen=True)
class StreamError:
    """One failed item of `embed_stream` (the stream itself goes on)."""

    index: int
    code: str
    message: str


@dataclass(frozen=True)
class Score:
    similarity: float
    global_similarity: float
    local_similarity: float


@dataclass(frozen=True)
class CompareResult:
    model_version: str
    scores: dict[str, Score]
    a_sha256: str = ""
    b_sha256: str = ""

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RankedCandidate:
    index: int
    sha256: str
    similarity: float
    global_similarity: float
    local_similarity: float


@dataclass(frozen=True)
class RankResult:
    model_version: str
    attribute: str
    query_sha256: str
    results: list[RankedCandidate] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)
