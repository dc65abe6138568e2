"""Python client of the ASEN similarity gateway (gRPC `asen.v1.FashionSimilarity`).

from asen.client import AsenClient
with AsenClient("localhost:50051") as client:
    print(client.compare("a.jpg", "b.jpg", ["collar_design"]).scores)
"""

from asen.client.catalogue_results import (
    CatalogueItem,
    CatalogueSearch,
    CatalogueStats,
    ItemRef,
    SearchHit,
    UpsertResult,
)
from asen.client.client import AsenClient, ClientError, Sha256Ref, TlsOptions
from asen.client.results import (
    AttributeInfo,
    CompareResult,
    Embedding,
    EmbedResult,
    ModelAttributes,
    RankedCandidate,
    RankResult,
    Score,
    StreamError,
)

__all__ = [
    "AsenClient",
    "CatalogueItem",
    "CatalogueSearch",
    "CatalogueStats",
    "ItemRef",
    "SearchHit",
    "UpsertResult",
    "AttributeInfo",
    "ClientError",
    "CompareResult",
    "EmbedResult",
    "Embedding",
    "ModelAttributes",
    "RankResult",
    "RankedCandidate",
    "Score",
    "Sha256Ref",
    "StreamError",
    "TlsOptions",
]
